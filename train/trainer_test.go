package train

import (
	"context"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/unet"
)

// blobSamples are bright ellipsoids (class 1) with a darker core (class 2)
// in noise: a task a tiny U-Net learns in a few hundred steps.
func blobSamples(n, count int, seed uint64) []*Sample {
	var out []*Sample
	for s := 0; s < count; s++ {
		smp := &Sample{ID: "blob", Dims: [3]int{n, n, n}, Spacing: [3]float64{1, 1, 1},
			Image: make([]float32, n*n*n), Label: make([]uint8, n*n*n), Background: -1}
		cx := float64(n)/2 + float64((int(seed)+s*7)%5) - 2
		cy := float64(n)/2 + float64((s*3)%5) - 2
		r := 5 + float64(s%3)
		h := uint64(seed*1000 + uint64(s))
		for z := 0; z < n; z++ {
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					i := x + n*(y+n*z)
					h = h*6364136223846793005 + 1442695040888963407
					noise := float32(int64(h>>33)%1000)/1000*0.6 - 0.3
					d := math.Sqrt((float64(x)-cx)*(float64(x)-cx) + (float64(y)-cy)*(float64(y)-cy) + (float64(z)-float64(n)/2)*(float64(z)-float64(n)/2))
					v := float32(-1)
					switch {
					case d < r/2:
						v, smp.Label[i] = 0.3, 2
					case d < r:
						v, smp.Label[i] = 1, 1
					}
					smp.Image[i] = v + noise
					if smp.Label[i] != 0 {
						smp.Foreground = append(smp.Foreground, int32(i))
					}
				}
			}
		}
		out = append(out, smp)
	}
	return out
}

func tinyNet(t *testing.T) *unet.UNet {
	cfg := unet.DefaultConfig()
	cfg.NumClasses = 3
	cfg.Features = []int{4, 8, 16}
	net, err := unet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	net.Init(7)
	return net
}

func TestTrainingLearnsBlobs(t *testing.T) {
	net := tinyNet(t)
	o := DefaultFitOptions()
	o.Epochs, o.StepsPerEpoch, o.Optimizer, o.LR, o.WeightDecay = 6, 25, "adamw", 3e-3, 1e-4
	o.Patcher.Patch = [3]int{16, 16, 16}
	o.Patcher.Aug = Augment{PMirror: 0.5, PNoise: 0.1, NoiseVar: 0.05}
	var last EpochLog
	err := Fit(context.Background(), net, blobSamples(24, 4, 1), blobSamples(24, 2, 9), o, func(l EpochLog) error {
		last = l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last.ValDice < 0.9 {
		t.Errorf("validation Dice %.3f after %d epochs, want > 0.9 (per class %v)", last.ValDice, last.Epoch, last.ValDiceClass)
	}
}

// Training two epochs, or one epoch then resuming for the second, gives the
// same weights bit for bit.
func TestResumeIsExact(t *testing.T) {
	samples := blobSamples(16, 2, 3)
	o := DefaultFitOptions()
	o.Epochs, o.StepsPerEpoch = 2, 3
	o.Patcher.Patch = [3]int{16, 16, 16}
	straight := tinyNet(t)
	if err := Fit(context.Background(), straight, samples, nil, o, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	resumed := tinyNet(t)
	o.CheckpointDir = dir
	stop := func(l EpochLog) error {
		if l.Epoch == 1 {
			return context.Canceled
		}
		return nil
	}
	if err := Fit(context.Background(), resumed, samples, nil, o, stop); err != context.Canceled {
		t.Fatalf("interrupted run: %v", err)
	}
	again := tinyNet(t)
	o.Resume = true
	if err := Fit(context.Background(), again, samples, nil, o, nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range straight.Params() {
		q := again.Params()[i]
		for j := range p.Data {
			if p.Data[j] != q.Data[j] {
				t.Fatalf("%s[%d]: resumed %v, straight %v", p.Name, j, q.Data[j], p.Data[j])
			}
		}
	}
}

// Validation only measures: validating after every epoch, after every
// second, or never gives the same weights bit for bit, and ValEvery picks
// which epochs carry a validation (always the last).
func TestValEveryKeepsWeights(t *testing.T) {
	samples, val := blobSamples(16, 2, 3), blobSamples(16, 1, 9)
	for _, tc := range []struct {
		every int
		val   []*Sample
		want  []bool // Validated per epoch
	}{
		{0, val, []bool{true, true, true}},
		{1, val, []bool{true, true, true}},
		{2, val, []bool{false, true, true}},
		{5, val, []bool{false, false, true}},
		{2, nil, []bool{false, false, false}},
	} {
		o := DefaultFitOptions()
		o.Epochs, o.StepsPerEpoch, o.ValEvery = 3, 2, tc.every
		o.Patcher.Patch = [3]int{16, 16, 16}
		ref, net := tinyNet(t), tinyNet(t)
		if err := Fit(context.Background(), ref, samples, nil, o, nil); err != nil {
			t.Fatal(err)
		}
		var got []bool
		err := Fit(context.Background(), net, samples, tc.val, o, func(l EpochLog) error {
			got = append(got, l.Validated)
			if !l.Validated && (l.ValDice != 0 || l.ValDiceClass != nil) {
				t.Errorf("every %d: epoch %d carries a Dice without validation", tc.every, l.Epoch)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("every %d, %d validation samples: validated %v, want %v", tc.every, len(tc.val), got, tc.want)
		}
		for i, p := range ref.Params() {
			if !slices.Equal(p.Data, net.Params()[i].Data) {
				t.Fatalf("every %d: %s differs from a run without validation", tc.every, p.Name)
			}
		}
	}
	o := DefaultFitOptions()
	o.ValEvery = -1
	if err := Fit(context.Background(), tinyNet(t), samples, val, o, nil); err == nil {
		t.Error("ValEvery -1 accepted")
	}
}

// A batch split between replicas of the network, one sample per core,
// trains the same weights as the whole batch on one core (GOMAXPROCS 2
// splits it on any machine).
func TestSplitBatchKeepsWeights(t *testing.T) {
	samples := blobSamples(16, 2, 3)
	o := DefaultFitOptions()
	o.Epochs, o.StepsPerEpoch, o.Optimizer = 2, 3, "adamw"
	o.Patcher.Patch = [3]int{16, 16, 16}
	fit := func(procs int) *unet.UNet {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		net := tinyNet(t)
		if err := Fit(context.Background(), net, samples, nil, o, nil); err != nil {
			t.Fatal(err)
		}
		return net
	}
	whole, split := fit(1), fit(2)
	for i, p := range whole.Params() {
		if !slices.Equal(p.Data, split.Params()[i].Data) {
			t.Fatalf("%s: a split batch trained other weights than the whole batch", p.Name)
		}
	}
}
