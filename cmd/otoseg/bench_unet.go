package main

import (
	"github.com/otoseg/otoseg/bench"
	"github.com/otoseg/otoseg/unet"
)

// unetBenchRunner is the hook through which `otoseg bench engine` times the
// U-Net: package unet's Bench, which does the work bench.UNetRunner
// describes.
func unetBenchRunner() bench.UNetRunner { return unet.Bench }
