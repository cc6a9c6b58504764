package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForVisitsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		seen := make([]atomic.Int32, n)
		var scratches atomic.Int32
		For(n, func() *int { scratches.Add(1); return new(int) }, func(i int, sc *int) {
			*sc++ // a worker's own scratch: no race
			seen[i].Add(1)
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Errorf("n=%d: index %d ran %d times", n, i, c)
			}
		}
		if n == 0 && scratches.Load() != 0 {
			t.Errorf("n=0 made %d scratches", scratches.Load())
		}
	}
}

// TestForNBoundsWorkers checks that ForN never runs more than workers
// pieces at once, and that workers < 1 still runs everything.
func TestForNBoundsWorkers(t *testing.T) {
	for _, workers := range []int{-1, 0, 1, 3} {
		var running, peak, done atomic.Int32
		ForN(workers, 200, func() struct{} { return struct{}{} }, func(int, struct{}) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			for i := 0; i < 1000; i++ {
				_ = i * i
			}
			running.Add(-1)
			done.Add(1)
		})
		if done.Load() != 200 {
			t.Errorf("workers=%d: ran %d of 200", workers, done.Load())
		}
		if workers >= 1 && peak.Load() > int32(workers) {
			t.Errorf("workers=%d: %d ran at once", workers, peak.Load())
		}
	}
}
