package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormKernelsAgree compares the dispatching loops (assembly where the
// CPU has it) with the Go loops at lengths around the vector and block
// sizes, for the fused and plain forms.
func TestNormKernelsAgree(t *testing.T) {
	if !haveNormAVX2 {
		t.Log("no AVX2 on this CPU: the dispatchers are the Go loops")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	near := func(a, b, scale float64) bool { return math.Abs(a-b) <= 1e-5*max(scale, 1e-3) }
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 511, 512, 513, 1000, 4099} {
		xs := make([]float32, n)
		ds := make([]float32, n)
		var scale float64
		for i := range xs {
			xs[i] = float32(rng.NormFloat64()*2 + 0.7)
			ds[i] = float32(rng.NormFloat64())
			scale += math.Abs(float64(xs[i])) * 4
		}
		// Whole-slice Go references, block by block as the dispatchers go.
		var wantSum, wantSq float64
		for off := 0; off < n; off += blockLen {
			end := min(off+blockLen, n)
			wantSum += sumGo(xs[off:end])
			wantSq += sumSqDevGo(xs[off:end], 0.7)
		}
		if got := sum(xs); !near(got, wantSum, scale) {
			t.Errorf("n=%d: sum %v, Go %v", n, got, wantSum)
		}
		if got := sumSqDev(xs, 0.7); !near(got, wantSq, scale*scale) {
			t.Errorf("n=%d: sumSqDev %v, Go %v", n, got, wantSq)
		}
		for _, fused := range []bool{false, true} {
			got := make([]float32, n)
			want := make([]float32, n)
			affineAct(got, xs, 1.3, -0.4, 0.01, fused)
			affineActGo(want, xs, 1.3, -0.4, 0.01, fused)
			for i := range got {
				if !near(float64(got[i]), float64(want[i]), 1) {
					t.Fatalf("n=%d fused=%v: affineAct[%d] = %v, Go %v", n, fused, i, got[i], want[i])
				}
			}
			s1, s2 := normGradSums(xs, ds, 0.5, 0.8, 1.2, -0.3, 0.01, fused)
			w1, w2 := normGradSumsGo(xs, ds, 0.5, 0.8, 1.2, -0.3, 0.01, fused)
			if !near(s1, w1, scale) || !near(s2, w2, scale) {
				t.Errorf("n=%d fused=%v: grad sums (%v, %v), Go (%v, %v)", n, fused, s1, s2, w1, w2)
			}
			normGradApply(got, xs, ds, 0.5, 0.8, 1.2, -0.3, 0.01, 0.9, 0.1, -0.2, fused)
			normGradApplyGo(want, xs, ds, 0.5, 0.8, 1.2, -0.3, 0.01, 0.9, 0.1, -0.2, fused)
			for i := range got {
				if !near(float64(got[i]), float64(want[i]), 1) {
					t.Fatalf("n=%d fused=%v: normGradApply[%d] = %v, Go %v", n, fused, i, got[i], want[i])
				}
			}
		}
	}
}
