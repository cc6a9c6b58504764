package main

import "github.com/otoseg/otoseg/bench"

// unetBenchRunner is the hook through which `otoseg bench engine` times the
// U-Net: it returns the unet package's implementation of bench.UNetRunner
// (see its doc comment for the work to time), or nil while there is none,
// in which case the U-Net rows are left empty.
func unetBenchRunner() bench.UNetRunner { return nil }
