package main

import (
	"github.com/otoseg/otoseg/bench"
	"github.com/otoseg/otoseg/unet"
)

// unetBenchRunner is the hook through which `otoseg bench engine` times the
// U-Net: package unet's implementation of bench.UNetRunner (see its doc
// comment for the work it times).
func unetBenchRunner() bench.UNetRunner { return unet.Bench }
