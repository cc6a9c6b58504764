// Package timing is otoseg's one way of timing a piece of work for a
// benchmark: warm up once, run it a few times, report the median, by wall
// time or by the process's CPU time.
package timing

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Clock returns seconds since an arbitrary origin.
type Clock func() float64

// Wall is wall-clock time.
func Wall() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// CPU is the CPU time of the whole process (user + system, every thread),
// wall time where the system does not report it: per CPU-second figures do
// not depend on how busy the machine is with other work.
func CPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Wall()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// Best runs fn once to warm up, then reps times, and returns the shortest
// time: the figure for a machine's peak, which other processes can only
// lower.
func Best(ctx context.Context, clock Clock, reps int, fn func()) (float64, error) {
	t, err := times(ctx, clock, reps, fn)
	if err != nil {
		return 0, err
	}
	return t[0], nil
}

// Median runs fn once to warm up, then reps times, and returns the median
// time in seconds by clock; it stops early when ctx is cancelled. The
// median, not the mean, because one run slowed by another process says
// nothing about the code.
func Median(ctx context.Context, clock Clock, reps int, fn func()) (float64, error) {
	t, err := times(ctx, clock, reps, fn)
	if err != nil {
		return 0, err
	}
	if reps%2 == 1 {
		return t[reps/2], nil
	}
	return (t[reps/2-1] + t[reps/2]) / 2, nil
}

// times runs fn once to warm up and then reps times, and returns the
// sorted times.
func times(ctx context.Context, clock Clock, reps int, fn func()) ([]float64, error) {
	if reps <= 0 {
		return nil, fmt.Errorf("timing: reps must be positive, got %d", reps)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fn()
	t := make([]float64, reps)
	for i := range t {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := clock()
		fn()
		t[i] = clock() - t0
	}
	slices.Sort(t)
	return t, nil
}
