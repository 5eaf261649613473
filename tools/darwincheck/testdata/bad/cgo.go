//go:build darwin

package bad

// #include <stdint.h>
import "C"

func width() C.int {
	var n int = "4"
	return C.int(n)
}
