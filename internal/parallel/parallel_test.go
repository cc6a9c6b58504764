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
