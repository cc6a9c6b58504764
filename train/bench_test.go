package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/otoseg/otoseg/unet"
)

// BenchmarkTrainStep times one training step (batch 2, augmentation
// included) of the baseline segmenter shape at two widths.
func BenchmarkTrainStep(b *testing.B) {
	for _, feats := range [][]int{{8, 16, 32, 64}, {16, 32, 64, 128}} {
		b.Run(fmt.Sprintf("features%v_patch56x64x40", feats), func(b *testing.B) {
			cfg := unet.DefaultConfig()
			cfg.Features = feats
			net, err := unet.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			net.Init(1)
			o := DefaultFitOptions()
			o.Epochs, o.StepsPerEpoch = 1, b.N
			o.Patcher.Patch = [3]int{56, 64, 40}
			s := blobSamples(64, 1, 1)
			for i := range s[0].Label {
				s[0].Label[i] = min(s[0].Label[i], 3)
			}
			b.ResetTimer()
			if err := Fit(context.Background(), net, s, nil, o, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkCut times cutting one 64^3 patch at 0.3 mm (the baseline's
// plan) out of a 96^3 ear region, with the spatial augmentations only (the
// intensity ones do not depend on them): none, elastic deformation alone,
// rotation and scaling, and both. The elastic field uses the otoseg train
// defaults (1 mm, 6 mm grid).
func BenchmarkCut(b *testing.B) {
	s := sphereSample(96, 20)
	s.Spacing = [3]float64{0.3, 0.3, 0.3}
	affine := Augment{PRotate: 1, MaxRotateDeg: 30, PScale: 1, ScaleLo: 0.7, ScaleHi: 1.4}
	withElastic := func(a Augment) Augment {
		a.PElastic, a.ElasticMagMM, a.ElasticGridMM = 1, 1, 6
		return a
	}
	for _, c := range []struct {
		name string
		aug  Augment
	}{
		{"none", Augment{}},
		{"elastic", withElastic(Augment{})},
		{"rotate_scale", affine},
		{"rotate_scale_elastic", withElastic(affine)},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := Patcher{Patch: [3]int{64, 64, 64}, ForegroundFraction: 0.33, Aug: c.aug}
			img, lab := make([]float32, 64*64*64), make([]uint8, 64*64*64)
			rng := rand.New(rand.NewPCG(1, 2))
			p.Cut(rng, s, img, lab) // size the elastic buffers
			b.ReportAllocs()
			for b.Loop() {
				p.Cut(rng, s, img, lab)
			}
		})
	}
}
