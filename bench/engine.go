// Package bench measures otoseg's engine side by side with PyTorch on the
// same machine, in one run: the 3x3x3 convolution at the three shapes
// typical of a 3-D U-Net, and a whole U-Net training step and inference.
// Absolute speeds on shared machines drift from minute to minute, so the
// figure that matters is the ratio taken in one run.
package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/timing"

	"github.com/otoseg/otoseg/nn"
)

//go:embed torch_engine.py
var torchScript string

// UNetRunner times otoseg's U-Net for the benchmark, with the work of the
// PyTorch side (torch_engine.py): a five-stage network with 16-32-64-128-256
// features, two 3x3x3 convolution+InstanceNorm+LeakyReLU per stage (stride 2
// on the first of each stage after the first), transposed-convolution
// upsampling, concatenated skips and a 1x1x1 two-class head. It returns the
// median seconds of reps runs, after one warm-up, of (a) one training step
// on a batch of 2x1x64^3 (forward, cross-entropy, backward, SGD with
// Nesterov momentum 0.99) and (b) one inference on 1x1x96^3, using the
// given number of threads. Package unet provides it.
type UNetRunner func(ctx context.Context, threads, reps int) (trainStepS, infer96S float64, err error)

// ConvShape is one convolution of the benchmark: batch 1, C in and out
// channels, a cube of Size voxels, kernel 3, stride 1.
type ConvShape struct{ Size, C int }

// Name is how reports spell the shape, e.g. "48^3x16".
func (s ConvShape) Name() string { return fmt.Sprintf("%d^3x%d", s.Size, s.C) }

// Flops is the work of one forward pass, 2*C*C*27*Size^3 (the peer's
// convention; forward+backward counts three times this).
func (s ConvShape) Flops() float64 { return 2 * float64(s.C*s.C*27) * float64(s.Size*s.Size*s.Size) }

// DefaultShapes are PyTorch peer's three shapes.
var DefaultShapes = []ConvShape{{48, 16}, {32, 32}, {16, 64}}

// Options configures RunEngine.
type Options struct {
	Threads int // threads for both sides
	Reps    int // timed runs per figure (the median is reported)
	Rounds  int // rounds of both sides, one after the other (medians reported)
	// CPUTime times the convolutions by process CPU time instead of wall
	// time (single-threaded only, U-Net skipped): on a busy machine wall
	// time measures the other processes as much as the engine.
	CPUTime bool
	Python  string      // interpreter with torch; "" skips PyTorch
	Shapes  []ConvShape // convolution shapes
	UNet    UNetRunner  // nil skips the U-Net part
	Log     io.Writer   // progress lines; nil for none
}

// ConvResult is one convolution figure. Torch fields are nil when PyTorch
// did not run.
type ConvResult struct {
	Shape        string   `json:"shape"`
	Pass         string   `json:"pass"`
	Seconds      float64  `json:"seconds"`
	GFLOPS       float64  `json:"gflops"`
	TorchSeconds *float64 `json:"torch_seconds"`
	TorchGFLOPS  *float64 `json:"torch_gflops"`
	// FractionOfPeak is GFLOPS over the report's PeakGFLOPS.
	FractionOfPeak float64 `json:"fraction_of_peak"`
}

// UNetResult holds the U-Net figures, nil where that side did not run.
type UNetResult struct {
	TrainStepS      *float64 `json:"train_step_s"`
	Infer96S        *float64 `json:"infer96_s"`
	TorchTrainStepS *float64 `json:"torch_train_step_s"`
	TorchInfer96S   *float64 `json:"torch_infer96_s"`
}

// Report is the result of RunEngine; its JSON form is what
// `otoseg bench engine --json` prints.
type Report struct {
	Threads int    `json:"threads"`
	Reps    int    `json:"reps"`
	Rounds  int    `json:"rounds"`
	Clock   string `json:"clock"` // "wall" or "cpu" (Options.CPUTime)
	Kernels string `json:"kernels"`
	// Peak is this machine's FMA peak measured in the same run;
	// PeakGFLOPS is the part of it the convolution figures are fractions
	// of: all cores at Threads for wall time, one core for CPU time.
	Peak       Peak    `json:"peak"`
	PeakGFLOPS float64 `json:"peak_gflops"`
	// LoadAvg is the 1-minute load average (Linux /proc/loadavg) at the
	// start and the end of the run: above the thread count, other processes
	// competed for the cores and absolute figures are low.
	LoadAvg []float64    `json:"loadavg,omitempty"`
	Torch   string       `json:"torch,omitempty"`
	Conv    []ConvResult `json:"conv"`
	UNet    UNetResult   `json:"unet"`
	Notes   []string     `json:"notes,omitempty"`
}

// TorchAvailable reports whether python can import torch.
func TorchAvailable(ctx context.Context, python string) bool {
	if python == "" {
		return false
	}
	return exec.CommandContext(ctx, python, "-c", "import torch").Run() == nil
}

// RunEngine runs the benchmark: otoseg's convolutions, then PyTorch's, then
// the two U-Nets, each timed as the median of o.Reps runs; with several
// rounds it repeats all of it and reports each figure's median over the
// rounds, so a burst of load from other processes on a shared machine
// moves one round, not the result.
func RunEngine(ctx context.Context, o Options) (*Report, error) {
	if o.Threads <= 0 {
		return nil, errors.New("bench: threads must be positive")
	}
	if o.Reps <= 0 {
		o.Reps = 5
	}
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	if o.CPUTime && o.Threads != 1 {
		return nil, errors.New("bench: CPU time is a fair measure only with one thread (PyTorch's waiting threads spin and burn CPU)")
	}
	load0, ok0 := loadAvg()
	var rounds []*Report
	for i := 0; i < o.Rounds; i++ {
		if o.Log != nil && o.Rounds > 1 {
			fmt.Fprintf(o.Log, "round %d of %d\n", i+1, o.Rounds)
		}
		r, err := runRound(ctx, o)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, r)
	}
	r := mergeRounds(rounds)
	r.PeakGFLOPS = r.Peak.AllCores
	if o.CPUTime {
		r.PeakGFLOPS = r.Peak.OneCore
	}
	for i := range r.Conv {
		if r.PeakGFLOPS > 0 {
			r.Conv[i].FractionOfPeak = r.Conv[i].GFLOPS / r.PeakGFLOPS
		}
	}
	if load1, ok1 := loadAvg(); ok0 && ok1 {
		r.LoadAvg = []float64{load0, load1}
	}
	return r, nil
}

// loadAvg reads the 1-minute load average; ok is false where there is none.
func loadAvg() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// mergeRounds returns the first round's report with every figure replaced
// by its median over the rounds.
func mergeRounds(rs []*Report) *Report {
	r := rs[0]
	r.Rounds = len(rs)
	med := func(get func(*Report) *float64) *float64 {
		var v []float64
		for _, x := range rs {
			if p := get(x); p != nil {
				v = append(v, *p)
			}
		}
		if len(v) == 0 {
			return nil
		}
		slices.Sort(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = (v[len(v)/2-1] + m) / 2
		}
		return &m
	}
	r.Peak.OneCore = *med(func(x *Report) *float64 { return &x.Peak.OneCore })
	r.Peak.AllCores = *med(func(x *Report) *float64 { return &x.Peak.AllCores })
	for i := range r.Conv {
		r.Conv[i].Seconds = *med(func(x *Report) *float64 { return &x.Conv[i].Seconds })
		r.Conv[i].GFLOPS = *med(func(x *Report) *float64 { return &x.Conv[i].GFLOPS })
		r.Conv[i].TorchSeconds = med(func(x *Report) *float64 { return x.Conv[i].TorchSeconds })
		r.Conv[i].TorchGFLOPS = med(func(x *Report) *float64 { return x.Conv[i].TorchGFLOPS })
	}
	u := UNetResult{
		TrainStepS:      med(func(x *Report) *float64 { return x.UNet.TrainStepS }),
		Infer96S:        med(func(x *Report) *float64 { return x.UNet.Infer96S }),
		TorchTrainStepS: med(func(x *Report) *float64 { return x.UNet.TorchTrainStepS }),
		TorchInfer96S:   med(func(x *Report) *float64 { return x.UNet.TorchInfer96S }),
	}
	r.UNet = u
	return r
}

// runRound runs every part once on both sides.
func runRound(ctx context.Context, o Options) (*Report, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	r := &Report{Threads: o.Threads, Reps: o.Reps, Rounds: 1, Clock: "wall", Kernels: nn.KernelPath()}
	peak, err := MeasurePeak(ctx, o.Threads, o.Reps)
	if err != nil {
		return nil, err
	}
	r.Peak = peak
	logf("FMA peak (%s loop): %.1f GFLOP/s on one core, %.1f on %d threads; %s", peak.SIMD, peak.OneCore, peak.AllCores, o.Threads, peak.CPU)
	clock := timing.Clock(timing.Wall)
	if o.CPUTime {
		r.Clock, clock = "cpu", timing.CPU
	}
	for _, s := range o.Shapes {
		for _, bwd := range []bool{false, true} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sec, err := timeConv(ctx, s, bwd, o.Threads, o.Reps, clock)
			if err != nil {
				return nil, err
			}
			pass, f := "fwd", s.Flops()
			if bwd {
				pass, f = "fwd+bwd", 3*f
			}
			r.Conv = append(r.Conv, ConvResult{Shape: s.Name(), Pass: pass, Seconds: sec, GFLOPS: f / sec / 1e9})
			logf("otoseg  conv %-8s %-7s %8.1f ms %7.1f GFLOP/s", s.Name(), pass, sec*1e3, f/sec/1e9)
		}
	}
	torchOK := TorchAvailable(ctx, o.Python)
	switch {
	case o.Python == "":
		r.Notes = append(r.Notes, "PyTorch side skipped")
	case !torchOK:
		r.Notes = append(r.Notes, "PyTorch not available ("+o.Python+" -c 'import torch' failed): torch figures omitted")
	}
	if torchOK && len(o.Shapes) > 0 {
		tr, err := runTorch(ctx, o.Python, o.Threads, o.Reps, "conv", r.Clock)
		if err != nil {
			return nil, err
		}
		r.Torch = tr.Torch
		for i := range r.Conv {
			for _, t := range tr.Conv {
				if t.Shape == r.Conv[i].Shape && t.Pass == r.Conv[i].Pass {
					r.Conv[i].TorchSeconds, r.Conv[i].TorchGFLOPS = ptr(t.Seconds), ptr(t.GFLOPS)
					logf("PyTorch conv %-8s %-7s %8.1f ms %7.1f GFLOP/s", t.Shape, t.Pass, t.Seconds*1e3, t.GFLOPS)
				}
			}
		}
	}
	if o.UNet != nil && o.CPUTime {
		r.Notes = append(r.Notes, "U-Net part skipped: it is timed by wall clock only")
		o.UNet = nil
	} else if o.UNet != nil {
		train, infer, err := o.UNet(ctx, o.Threads, o.Reps)
		if err != nil {
			return nil, fmt.Errorf("bench: otoseg U-Net: %w", err)
		}
		r.UNet.TrainStepS, r.UNet.Infer96S = ptr(train), ptr(infer)
		logf("otoseg  U-Net train step %.3f s, inference 96^3 %.3f s", train, infer)
	} else {
		r.Notes = append(r.Notes, "U-Net part skipped")
	}
	if torchOK && o.UNet != nil {
		tr, err := runTorch(ctx, o.Python, o.Threads, o.Reps, "unet", r.Clock)
		if err != nil {
			return nil, err
		}
		r.Torch = tr.Torch
		if tr.UNet != nil {
			r.UNet.TorchTrainStepS, r.UNet.TorchInfer96S = ptr(tr.UNet.TrainStepS), ptr(tr.UNet.Infer96S)
			logf("PyTorch U-Net train step %.3f s, inference 96^3 %.3f s", tr.UNet.TrainStepS, tr.UNet.Infer96S)
		}
	}
	return r, nil
}

func ptr(v float64) *float64 { return &v }

// timeConv returns the median seconds of reps runs of one convolution,
// forward only (inference mode) or forward+backward (training mode, the
// output itself as upstream gradient, as the PyTorch side does).
func timeConv(ctx context.Context, s ConvShape, backward bool, threads, reps int, clock timing.Clock) (float64, error) {
	rng := rand.New(rand.NewPCG(uint64(s.Size), uint64(s.C)))
	c := nn.NewConv3d(s.C, s.C, 3, 1, false)
	c.Threads = threads
	bound := float32(1 / (float64(s.C) * 27))
	for i := range c.Weight.Data {
		c.Weight.Data[i] = (2*rng.Float32() - 1) * bound
	}
	x := nn.NewTensor(1, s.C, s.Size, s.Size, s.Size)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	run := func() {
		y := c.Forward(x, backward)
		if backward {
			c.Backward(y)
		}
	}
	return timing.Median(ctx, clock, reps, run)
}

type torchResult struct {
	Torch string `json:"torch"`
	Conv  []struct {
		Shape   string  `json:"shape"`
		Pass    string  `json:"pass"`
		Seconds float64 `json:"seconds"`
		GFLOPS  float64 `json:"gflops"`
	} `json:"conv"`
	UNet *struct {
		TrainStepS float64 `json:"train_step_s"`
		Infer96S   float64 `json:"infer96_s"`
	} `json:"unet"`
}

// runTorch runs the embedded PyTorch script for the given parts.
func runTorch(ctx context.Context, python string, threads, reps int, parts, clock string) (*torchResult, error) {
	cmd := exec.CommandContext(ctx, python, "-c", torchScript, fmt.Sprint(threads), fmt.Sprint(reps), parts, clock)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: PyTorch (%s) %s: %w: %s", python, parts, err, strings.TrimSpace(lastLine(errb.String())))
	}
	var tr torchResult
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &tr); err != nil {
		return nil, fmt.Errorf("bench: PyTorch %s printed %q: %w", parts, lastLine(out.String()), err)
	}
	return &tr, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// WriteTable prints the report as an aligned table. The ratio column is
// otoseg/PyTorch of the figure in that table: GFLOP/s for convolutions
// (above 1: otoseg faster), seconds for the U-Net (below 1: otoseg faster).
func (r *Report) WriteTable(w io.Writer) {
	torch := r.Torch
	if torch == "" {
		torch = "not run"
	}
	fmt.Fprintf(w, "engine benchmark: %d threads, %s time, median of %d runs (x %d rounds), kernels %s, PyTorch %s\n", r.Threads, r.Clock, r.Reps, r.Rounds, r.Kernels, torch)
	fmt.Fprintf(w, "CPU: %s\nFMA peak (%s): %.1f GFLOP/s one core, %.1f GFLOP/s %d threads; fractions below are of %.1f\n\n",
		r.Peak.CPU, r.Peak.SIMD, r.Peak.OneCore, r.Peak.AllCores, r.Peak.Threads, r.PeakGFLOPS)
	fmt.Fprintf(w, "%-28s %12s %8s %12s %15s\n", "convolution 3x3x3, GFLOP/s", "otoseg", "of peak", "PyTorch", "otoseg/PyTorch")
	for _, c := range r.Conv {
		name := c.Shape + " " + c.Pass
		if c.TorchGFLOPS != nil {
			fmt.Fprintf(w, "%-28s %12.1f %7.0f%% %12.1f %14.2fx\n", name, c.GFLOPS, 100*c.FractionOfPeak, *c.TorchGFLOPS, c.GFLOPS / *c.TorchGFLOPS)
		} else {
			fmt.Fprintf(w, "%-28s %12.1f %7.0f%% %12s %15s\n", name, c.GFLOPS, 100*c.FractionOfPeak, "-", "-")
		}
	}
	fmt.Fprintf(w, "\n%-28s %12s %12s %15s\n", "U-Net 16-256 ch, seconds", "otoseg", "PyTorch", "otoseg/PyTorch")
	row := func(name string, ours, theirs *float64) {
		f := func(v *float64) string {
			if v == nil {
				return "-"
			}
			return fmt.Sprintf("%.3f", *v)
		}
		ratio := "-"
		if ours != nil && theirs != nil && *theirs > 0 {
			ratio = fmt.Sprintf("%.2fx", *ours / *theirs)
		}
		fmt.Fprintf(w, "%-28s %12s %12s %15s\n", name, f(ours), f(theirs), ratio)
	}
	row("train step 2x64^3", r.UNet.TrainStepS, r.UNet.TorchTrainStepS)
	row("inference 96^3", r.UNet.Infer96S, r.UNet.TorchInfer96S)
	if len(r.LoadAvg) == 2 {
		fmt.Fprintf(w, "\nload average (1 min) %.1f at the start, %.1f at the end", r.LoadAvg[0], r.LoadAvg[1])
		if max(r.LoadAvg[0], r.LoadAvg[1]) > float64(r.Threads)+0.5 {
			fmt.Fprintf(w, ": other processes shared the cores, absolute figures are low")
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
}
