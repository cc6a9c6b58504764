package unet

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// TestInferMatchesForward checks the pooled one-sample inference pass
// against the layer-owned forward pass: the same outputs bit for bit, on a
// second call too (buffers come back from the pool), with a training pass
// in between unaffected, and no buffer allocated once the pool has settled.
func TestInferMatchesForward(t *testing.T) {
	for _, c := range []Config{
		{InChannels: 1, NumClasses: 3, Features: []int{4, 8, 16}, ConvsPerStage: 2, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5},
		{InChannels: 2, NumClasses: 2, Features: []int{4, 8}, ConvsPerStage: 1, DeepSupervision: false, NegativeSlope: 0.1, NormEps: 1e-3},
		anisoConfig(),
	} {
		t.Run(fmt.Sprint(c.Features, c.DeepSupervision), func(t *testing.T) {
			u, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			u.Init(5)
			d := c.Divisors()
			x := nn.NewTensor(1, c.InChannels, 2*d[0], 2*d[1], 3*d[2])
			for i := range x.Data {
				x.Data[i] = float32((i*37)%23)/7 - 1.5
			}
			copies := func(ts []*nn.Tensor) [][]float32 {
				var out [][]float32
				for _, t := range ts {
					if t != nil {
						out = append(out, slices.Clone(t.Data))
					}
				}
				return out
			}
			want := copies(u.Forward(x, true)) // layer-owned buffers
			for call := range 3 {
				got := copies(u.Forward(x, false))
				if len(got) != len(want) {
					t.Fatalf("call %d: %d outputs, want %d", call, len(got), len(want))
				}
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Fatalf("call %d: output %d differs from the training forward pass", call, i)
					}
				}
				if again := copies(u.Forward(x, true)); !slices.Equal(again[0], want[0]) {
					t.Fatalf("call %d: training forward changed after inference", call)
				}
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			u.Forward(x, false)
			runtime.ReadMemStats(&m1)
			if per := m1.TotalAlloc - m0.TotalAlloc; per > 64<<10 {
				t.Errorf("a settled inference pass allocates %d bytes", per)
			}
		})
	}
}

func TestBufPoolLendsSmallestFit(t *testing.T) {
	var p bufPool
	a, b := p.get([5]int{1, 1, 1, 1, 100}), p.get([5]int{1, 1, 1, 1, 10})
	p.put(a)
	p.put(b)
	if got := p.get([5]int{1, 1, 1, 1, 8}); cap(got.Data) != 10 {
		t.Errorf("8 floats lent a buffer of %d, want the 10", cap(got.Data))
	}
	o := p.lend([5]int{1, 1, 1, 1, 50})
	if cap(o.Data) != 100 {
		t.Errorf("50 floats lent a buffer of %d, want the 100", cap(o.Data))
	}
	if got := p.get([5]int{1, 1, 1, 1, 50}); cap(got.Data) == 100 {
		t.Error("a lent output was lent again before reclaim")
	}
	p.reclaim()
	if got := p.get([5]int{1, 1, 1, 1, 50}); cap(got.Data) != 100 {
		t.Errorf("after reclaim 50 floats lent %d, want the 100", cap(got.Data))
	}
}

// TestShareWorkspace: two networks on one scratch and pool, run in turn as
// a model's localiser and segmenter are, give what each gives on its own,
// and the second settles without new buffers.
func TestShareWorkspace(t *testing.T) {
	mk := func(c Config, seed uint64) *UNet {
		u, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		u.Init(seed)
		return u
	}
	ca := Config{InChannels: 1, NumClasses: 2, Features: []int{4, 8}, ConvsPerStage: 2, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	cb := Config{InChannels: 1, NumClasses: 4, Features: []int{4, 8, 16}, ConvsPerStage: 2, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	xa, xb := nn.NewTensor(1, 1, 8, 12, 16), nn.NewTensor(1, 1, 16, 16, 8)
	for i := range xa.Data {
		xa.Data[i] = float32(i%13)/6 - 1
	}
	for i := range xb.Data {
		xb.Data[i] = float32(i%11)/5 - 1
	}
	wantA := slices.Clone(mk(ca, 1).Forward(xa, false)[0].Data)
	wantB := slices.Clone(mk(cb, 2).Forward(xb, false)[0].Data)
	a, b := mk(ca, 1), mk(cb, 2)
	a.ShareWorkspace(b)
	for round := range 3 {
		if got := a.Forward(xa, false)[0].Data; !slices.Equal(got, wantA) {
			t.Fatalf("round %d: the first network's output changed when it shares a workspace", round)
		}
		if got := b.Forward(xb, false)[0].Data; !slices.Equal(got, wantB) {
			t.Fatalf("round %d: the second network's output changed when it shares a workspace", round)
		}
	}
	if a.pool != b.pool || a.scratch != b.scratch {
		t.Error("ShareWorkspace left the networks on different pools or scratches")
	}
}
