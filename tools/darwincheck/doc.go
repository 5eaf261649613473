// Command darwincheck type-checks darwin/arm64 code, cgo included, on any
// host: no Mac and no C toolchain for darwin are needed.
//
//	go run ./tools/darwincheck                  # ./... of the module, tests included
//	go run ./tools/darwincheck ./metalrt/...    # some packages
//	go run ./tools/darwincheck -test=false -std std
//
// It prints `darwincheck: N packages checked (M from this module)` and exits
// 0, or prints each problem as `file:line:col: message` and exits 1; exit
// status 2 means the checker itself failed (go list could not run, or the
// patterns matched nothing buildable for darwin).
//
// How: `go list -e -deps -json` (with -test unless -test=false) runs with
// GOOS=darwin GOARCH=arm64 CGO_ENABLED=1, which applies darwin's build
// constraints and names each package's GoFiles and CgoFiles. Every listed
// package, the standard library included, is then parsed and checked from
// source with go/types, in dependency order and in parallel, with arm64 gc
// sizes. Nothing is cached on disk.
//
// Cgo: the main module's cgo files are translated by the real cgo tool
// (`go tool cgo`, for linux/arm64 so that it drives the host's C compiler),
// which compiles their preambles and gives every C.name its real Go type;
// the translation is type-checked in their place, positions mapped back.
// So the C code, the existence and signatures of the C functions, struct
// fields and layouts (unsafe.Sizeof assertions) and the types of values
// passed to and from C are all checked. The price: those preambles must
// need no Apple header (declare the few Objective-C runtime or framework
// functions used), and a C compiler (CC, else gcc) must be installed.
// Other cgo files (darwinkit's, which include Apple headers) are checked
// with FakeImportC, under which every C.name is accepted anywhere.
//
// What is reported: type and syntax errors of every package outside the
// standard library (the module's own and its dependencies, darwinkit
// included), the cgo tool's and the C compiler's errors, and go list's
// errors (missing or unresolvable imports, packages named explicitly that
// build constraints exclude on darwin). darwinkit v0.5.0 type-checks
// cleanly under FakeImportC, so its errors are reported like any other.
// The standard library is checked for its declarations only, which is what
// importers need: it is known to compile, so an error there would be a
// limit of this checker; -std checks and reports its bodies too (it is
// clean for darwin/arm64, runtime/cgo included).
//
// What cannot be caught: that Apple's headers declare what a preamble
// declares itself, darwinkit's own C, and Objective-C selectors (strings,
// checked against darwinkit's sources by metalrt's tests). Those need a
// build on a Mac.
package main
