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
// constraints and names each package's GoFiles and CgoFiles without running
// cgo. Every listed package, the standard library included, is then parsed
// and checked from source with go/types, in dependency order and in
// parallel, with arm64 gc sizes and FakeImportC. Nothing is cached on disk.
//
// What is reported: type and syntax errors of every package outside the
// standard library (the module's own and its dependencies, darwinkit
// included), and go list's errors (missing or unresolvable imports, packages
// named explicitly that build constraints exclude on darwin). darwinkit
// v0.5.0 type-checks cleanly under FakeImportC, so its errors are reported
// like any other. The standard library is checked for its declarations only,
// which is what importers need: it is known to compile, so an error there
// would be a limit of this checker; -std checks and reports its bodies too
// (it is clean for darwin/arm64, runtime/cgo included).
//
// What cannot be caught: with FakeImportC, every C.name is an invalid
// operand that go/types accepts anywhere, so the cgo preamble, the C
// functions' existence and the types of values passed to and from C are not
// checked. Objective-C selectors are strings and are not checked either.
// Those need a build on a Mac.
package main
