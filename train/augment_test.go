package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func sphereSample(n int, r float64) *Sample {
	s := &Sample{Dims: [3]int{n, n, n}, Spacing: [3]float64{1, 1, 1}, Image: make([]float32, n*n*n), Label: make([]uint8, n*n*n), Background: -1}
	c := float64(n-1) / 2
	for z := 0; z < n; z++ {
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				i := x + n*(y+n*z)
				s.Image[i] = float32(x + 100*y + 10000*z)
				if math.Hypot(math.Hypot(float64(x)-c, float64(y)-c), float64(z)-c) < r {
					s.Label[i] = 1
					s.Foreground = append(s.Foreground, int32(i))
				}
			}
		}
	}
	return s
}

func TestCutWithoutAugmentationCopiesVoxels(t *testing.T) {
	s := sphereSample(24, 6)
	p := Patcher{Patch: [3]int{8, 8, 8}, ForegroundFraction: 1}
	img, lab := make([]float32, 512), make([]uint8, 512)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		p.Cut(rng, s, img, lab)
		// Without augmentation every patch voxel is an exact sample voxel whose
		// value encodes its position: neighbours along x differ by exactly 1.
		for i := 0; i < 7; i++ {
			if img[i] >= 0 && img[i+1] >= 0 && img[i+1]-img[i] != 1 {
				t.Fatalf("patch row not copied: %v", img[:8])
			}
		}
		// The label must be the sample's label at the copied voxel.
		for i, v := range img {
			if v < 0 {
				continue
			}
			x, y, z := int(v)%100, int(v)/100%100, int(v)/10000
			if lab[i] != s.Label[x+24*(y+24*z)] {
				t.Fatalf("label at %d does not follow the image", i)
			}
		}
	}
}

func TestCutForegroundOversampling(t *testing.T) {
	s := sphereSample(48, 3)
	img, lab := make([]float32, 16*16*16), make([]uint8, 16*16*16)
	count := func(frac float64) int {
		p := Patcher{Patch: [3]int{16, 16, 16}, ForegroundFraction: frac}
		rng := rand.New(rand.NewPCG(3, 4))
		hits := 0
		for trial := 0; trial < 200; trial++ {
			p.Cut(rng, s, img, lab)
			for _, l := range lab {
				if l != 0 {
					hits++
					break
				}
			}
		}
		return hits
	}
	if all, none := count(1), count(0); all != 200 || none > 100 {
		t.Errorf("patches with foreground: %d/200 when forced, %d/200 when random", all, none)
	}
}

func TestRotationKeepsLabelVolume(t *testing.T) {
	s := sphereSample(40, 8)
	p := Patcher{Patch: [3]int{40, 40, 40}, ForegroundFraction: 0, Aug: Augment{PRotate: 1, MaxRotateDeg: 30, PMirror: 0.5}}
	img, lab := make([]float32, 40*40*40), make([]uint8, 40*40*40)
	// A centred sphere keeps its volume under rotation and mirroring.
	s.Foreground = nil
	rng := rand.New(rand.NewPCG(5, 6))
	want := len(sphereSample(40, 8).Foreground)
	for trial := 0; trial < 5; trial++ {
		p.Cut(rng, s, img, lab)
		got := 0
		for _, l := range lab {
			got += int(l)
		}
		if math.Abs(float64(got-want)) > 0.5*float64(want) {
			t.Fatalf("label volume %d after rotation, want about %d", got, want)
		}
	}
}

func TestBlurPreservesMean(t *testing.T) {
	dims := [3]int{15, 15, 15}
	img := make([]float32, 15*15*15)
	for i := range img {
		img[i] = 3
	}
	img[7+15*(7+15*7)] = 100
	blur(img, dims, 1)
	var s float64
	for _, v := range img {
		s += float64(v)
	}
	if math.Abs(s-(3*float64(len(img)-1)+100)) > 1e-2 {
		t.Errorf("sum after blur %v", s)
	}
	if img[7+15*(7+15*7)] >= 100 || img[7+15*(7+15*7)] <= 3 {
		t.Errorf("peak not spread: %v", img[7+15*(7+15*7)])
	}
}

func TestLowResKeepsConstantsAndSmooths(t *testing.T) {
	dims := [3]int{8, 8, 8}
	img := make([]float32, 512)
	for i := range img {
		img[i] = 2
	}
	lowRes(img, dims, [3]float64{0.5, 0.5, 0.5})
	for _, v := range img {
		if math.Abs(float64(v-2)) > 1e-6 {
			t.Fatalf("constant image changed to %v", v)
		}
	}
	// A single-voxel checkerboard loses its finest detail.
	for i := range img {
		x, y, z := i%8, i/8%8, i/64
		img[i] = float32((x + y + z) % 2)
	}
	lowRes(img, dims, [3]float64{0.5, 1, 1})
	same := 0
	for i := range img {
		x, y, z := i%8, i/8%8, i/64
		if img[i] == float32((x+y+z)%2) {
			same++
		}
	}
	if same == 512 {
		t.Error("low-resolution simulation left a checkerboard untouched")
	}
}

// The calibration augmentation is an affine map of HU: two z-scored voxels
// of known HU come out as (HU·gain + offset) z-scored again, with gain and
// offset within their ranges, and the same gain and offset for both.
func TestCalibrationShiftsHU(t *testing.T) {
	const mean, sd = 380, 377
	hu := []float64{0, 1800}
	p := Patcher{Patch: [3]int{2, 1, 1}, Aug: Augment{PCalib: 1, CalibGain: 0.1, CalibOffset: 50, CalibMean: mean, CalibStd: sd}}
	rng := rand.New(rand.NewPCG(3, 4))
	moved := false
	for trial := 0; trial < 50; trial++ {
		img := []float32{float32((hu[0] - mean) / sd), float32((hu[1] - mean) / sd)}
		p.intensity(rng, img)
		out := []float64{float64(img[0])*sd + mean, float64(img[1])*sd + mean}
		gain := (out[1] - out[0]) / (hu[1] - hu[0])
		off := out[0] - hu[0]*gain
		if gain < 0.9-1e-4 || gain > 1.1+1e-4 || math.Abs(off) > 50+0.05 {
			t.Fatalf("trial %d: HU %v -> %v: gain %.4f offset %.2f out of range", trial, hu, out, gain, off)
		}
		moved = moved || math.Abs(off) > 5
	}
	if !moved {
		t.Error("offsets never moved by more than 5 HU in 50 draws")
	}
	// Without it the random stream is untouched.
	a, b := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	(&Patcher{Patch: [3]int{2, 1, 1}}).intensity(a, []float32{0, 1})
	(&Patcher{Patch: [3]int{2, 1, 1}, Aug: Augment{CalibGain: 0.1, CalibOffset: 50, CalibMean: mean, CalibStd: sd}}).intensity(b, []float32{0, 1})
	if a.Uint64() != b.Uint64() {
		t.Error("a zero PCalib drew from the random stream")
	}
}
