package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/otoseg/otoseg/internal/timing"
	"github.com/otoseg/otoseg/nn"
)

// Peak is the machine's own single-precision FMA peak, measured in the
// same run as the engine: the figure every engine speed is a fraction of,
// since machines differ (full-width AVX-512 on Zen 5 and Intel server cores,
// half-width on Zen 4, AVX2 elsewhere) by more than the kernels do.
type Peak struct {
	CPU string `json:"cpu"` // vendor, family/model and model name
	// SIMD is the vector width of the measuring loop: avx512, avx2, none.
	SIMD string `json:"simd"`
	// OneCore and AllCores are GFLOP/s with one thread and with Threads.
	OneCore  float64 `json:"one_core_gflops"`
	AllCores float64 `json:"all_cores_gflops"`
	Threads  int     `json:"threads"`
}

// peakIters is the loop count of one timed run: about 0.1-0.3 s on
// current cores.
const peakIters = 20_000_000

// MeasurePeak times an assembly loop of independent FMAs (enough
// accumulators to fill two full-width pipes), of the vector width the
// engine's kernels use, on one thread and on threads threads, each locked to
// its OS thread: the best of reps, since other processes can only lower it.
func MeasurePeak(ctx context.Context, threads, reps int) (Peak, error) {
	loop, simd, perIter := fmaLoop(nn.KernelPath())
	p := Peak{CPU: CPUName(), SIMD: simd, Threads: threads}
	if loop == nil {
		return p, nil
	}
	run := func(n int) (float64, error) {
		sec, err := timing.Best(ctx, timing.Wall, reps, func() {
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					loop(peakIters)
				}()
			}
			wg.Wait()
		})
		if err != nil {
			return 0, err
		}
		return float64(n) * peakIters * perIter / sec / 1e9, nil
	}
	var err error
	if p.OneCore, err = run(1); err != nil {
		return p, err
	}
	if p.AllCores, err = run(threads); err != nil {
		return p, err
	}
	return p, nil
}

// CPUName describes the processor as /proc/cpuinfo does: vendor, family
// and model (the microarchitecture), and the model name; "unknown" where
// there is no /proc/cpuinfo.
func CPUName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown (" + runtime.GOARCH + ")"
	}
	defer f.Close()
	fields := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // the first processor is enough
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if fields["vendor_id"] == "" {
		return "unknown (" + runtime.GOARCH + ")"
	}
	return fmt.Sprintf("%s family %s model %s (%s)", fields["vendor_id"], fields["cpu family"], fields["model"], fields["model name"])
}
