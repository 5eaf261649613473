package main

import "runtime"

const isDarwin = runtime.GOOS == "darwin"
