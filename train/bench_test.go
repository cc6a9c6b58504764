package train

import (
	"context"
	"fmt"
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
			o := DefaultOptions()
			o.Epochs, o.StepsPerEpoch = 1, b.N
			o.Patcher.Patch = [3]int{56, 64, 40}
			s := blobSamples(64, 1, 1)
			for i := range s[0].Label {
				s[0].Label[i] = min(s[0].Label[i], 3)
			}
			b.ResetTimer()
			if err := Run(context.Background(), net, s, nil, o, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}
