// Package shareddata locates the project's shared test models, which live
// in ../shared beside the repository and are never copied into it.
//
//	path := shareddata.Path(t, "models", "stories260K.gguf")
//
// When the folder is absent a test is skipped with a message saying so,
// except under CI (CI=true), where its absence is a failure.
package shareddata
