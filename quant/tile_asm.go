//go:build (amd64 || arm64) && !purego

package quant

// tilePointers gives the assembly kernels the first bytes of the four
// tokens' checked activation rows and sums.
func tilePointers(a, sums *[4][]byte) (ap, sp [4]*byte) {
	for t := range a {
		ap[t], sp[t] = &a[t][0], &sums[t][0]
	}
	return ap, sp
}
