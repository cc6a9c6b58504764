package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/bench"
)

// benchEngineOptions are the flags of `otoseg bench engine`.
type benchEngineOptions struct {
	JSON    bool
	Threads int
	Reps    int
	Rounds  int
	Python  string
	NoTorch bool
	NoUNet  bool
	CPUTime bool
}

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "measure otoseg's speed side by side with its peers",
	}
	cmd.AddCommand(newBenchEngineCmd())
	return cmd
}

func newBenchEngineCmd() *cobra.Command {
	o := benchEngineOptions{}
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "time the convolution engine and the U-Net against PyTorch in one run",
		Long: `engine times, in one run and at the same thread count, otoseg's 3x3x3
convolution at three U-Net shapes (48^3 x 16, 32^3 x 32 and 16^3 x 64 channels,
batch 1, forward and forward+backward) and a U-Net training step (2x64^3) and
inference (96^3), then the same work in PyTorch when the interpreter given by
--python can import torch. It prints GFLOP/s, seconds and the ratio
otoseg/PyTorch; --json prints one JSON object instead.`,
		Example: `  otoseg bench engine
  otoseg bench engine --threads 2 --reps 5 --rounds 3 --json
  otoseg bench engine --threads 1 --cpu-time   # kernel quality on a busy machine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchEngine(cmd, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.JSON, "json", false, "print one JSON object (keys conv, unet, ...) instead of a table")
	f.IntVar(&o.Threads, "threads", 2, "threads for otoseg and PyTorch")
	f.IntVar(&o.Reps, "reps", 5, "timed runs per figure; the median is reported")
	f.IntVar(&o.Rounds, "rounds", 1, "repeat both sides this many times, one after the other, and report medians (steadier on a shared machine)")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python interpreter with torch")
	f.BoolVar(&o.NoTorch, "no-torch", false, "skip the PyTorch side")
	f.BoolVar(&o.NoUNet, "no-unet", false, "skip the U-Net part")
	f.BoolVar(&o.CPUTime, "cpu-time", false, "time the convolutions by process CPU time (needs --threads 1; skips the U-Net): steadier on a busy machine")
	return cmd
}

func runBenchEngine(cmd *cobra.Command, o benchEngineOptions, out io.Writer) error {
	if o.Threads <= 0 || o.Reps <= 0 || o.Rounds <= 0 {
		return fmt.Errorf("bench engine: --threads, --reps and --rounds must be positive")
	}
	opts := bench.Options{Threads: o.Threads, Reps: o.Reps, Rounds: o.Rounds, CPUTime: o.CPUTime, Python: o.Python, Shapes: bench.DefaultShapes}
	if o.NoTorch {
		opts.Python = ""
	}
	if !o.NoUNet {
		opts.UNet = unetBenchRunner()
	}
	if !o.JSON {
		opts.Log = os.Stderr
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := bench.RunEngine(ctx, opts)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.WriteTable(out)
	return nil
}
