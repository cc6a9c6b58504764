package timing

import (
	"context"
	"testing"
)

// A fake clock that advances by the given durations shows which run the
// median picks, and that the warm-up run is not counted.
func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []float64 // duration of each timed run
		want  float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 2, 3}, 2.5},
		{"one", []float64{7}, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now, run := 0.0, -1 // run -1 is the warm-up
			clock := func() float64 { return now }
			got, err := Median(context.Background(), clock, len(tt.steps), func() {
				if run >= 0 {
					now += tt.steps[run]
				} else {
					now += 100 // a slow warm-up must not count
				}
				run++
			})
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	now, run := 0.0, 0
	best, err := Best(context.Background(), func() float64 { return now }, 3, func() {
		now += []float64{100, 3, 1, 2}[run]
		run++
	})
	if err != nil || best != 1 {
		t.Errorf("Best = %v, %v; want 1", best, err)
	}
	if _, err := Median(context.Background(), Wall, 0, func() {}); err == nil {
		t.Error("no error for 0 repetitions")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Median(ctx, Wall, 3, func() {}); err == nil {
		t.Error("no error for a cancelled context")
	}
}
