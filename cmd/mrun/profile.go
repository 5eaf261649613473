package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file for a Go CPU profile of the whole run
// (`go tool pprof mrun FILE`): how the engine's own developers see where a
// step's time goes, without a flag on every command.
const profileEnv = "MRUN_CPUPROFILE"

// startProfile starts the CPU profile that profileEnv asks for and returns
// the function that ends it; a profile that cannot start is reported and
// the run goes on without it.
func startProfile() (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mrun: %s: %v (running without a profile)\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
