package metrics

import (
	"math"
	"testing"
)

func TestDiceOf(t *testing.T) {
	fg := func(v uint8) bool { return v > 0 }
	two := func(v uint8) bool { return v == 2 }
	tests := []struct {
		name      string
		ref, pred []uint8
		in        func(uint8) bool
		want      float64
	}{
		{"identical", []uint8{0, 1, 2, 3}, []uint8{0, 1, 2, 3}, fg, 1},
		{"both empty", []uint8{0, 0}, []uint8{0, 0}, fg, 1},
		{"disjoint", []uint8{1, 0}, []uint8{0, 1}, fg, 0},
		// 2·2 / (3 + 3)
		{"partial", []uint8{1, 1, 1, 0}, []uint8{0, 1, 1, 1}, fg, 2.0 / 3},
		// labels differ but both are foreground
		{"labels merged", []uint8{1, 2}, []uint8{3, 3}, fg, 1},
		{"one class", []uint8{2, 2, 1}, []uint8{2, 1, 1}, two, 2.0 / 3},
	}
	for _, tt := range tests {
		if got := DiceOf(tt.ref, tt.pred, tt.in); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: DiceOf = %v, want %v", tt.name, got, tt.want)
		}
	}
	f := []float32{0, 3, 1}
	if got := DiceOf(f, []float32{0, 1, 0}, func(v float32) bool { return v > 0 }); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("float32 labels: DiceOf = %v, want 2/3", got)
	}
}
