// Package fault turns the memory faults of a memory-mapped file into
// errors. When a mapped model file shrinks while in use (truncated, or
// rewritten in place), reading its pages past the new end raises SIGBUS,
// which kills a Go program with a long trace. On a goroutine that has
// called debug.SetPanicOnFault(true) the fault is a panic instead, whose
// value has an Addr method (the faulting address): Is recognises it and
// Catch recovers it.
package fault

import (
	"runtime"
	"runtime/debug"
)

// Is reports whether r, a value from recover, is a memory fault that
// debug.SetPanicOnFault turned into a panic.
func Is(r any) bool {
	_, ok := r.(interface {
		runtime.Error
		Addr() uintptr
	})
	return ok
}

// Catch runs fn on the calling goroutine with memory faults turned into
// panics and reports whether fn faulted. Other panics go on unwinding.
func Catch(fn func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if !Is(r) {
				panic(r)
			}
			faulted = true
		}
	}()
	fn()
	return false
}
