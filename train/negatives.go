package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/volume"
)

// negativeSamples are scans without inner ears for the localiser, so that
// it learns to say "none": phantoms of the abdomen (phantom.NonEar), of a
// limb, and blank volumes, in turn.
func negativeSamples(n int, seed uint64, l plan.Locator) ([]*Sample, error) {
	var out []*Sample
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 0; i < n; i++ {
		var img *volume.Volume
		switch i % 3 {
		case 0:
			c := phantom.Centres[rng.IntN(len(phantom.Centres))]
			var err error
			if img, _, _, err = phantom.NonEar(phantom.NonEarConfig{Seed: rng.Uint64(), Centre: c}); err != nil {
				return nil, err
			}
		case 1:
			img = phantom.Limb(rng)
		default:
			img = phantom.Blank(rng)
		}
		s, err := LocatorSample(img, nil, l)
		if err != nil {
			return nil, err
		}
		s.ID = fmt.Sprintf("negative-%d", i)
		out = append(out, s)
	}
	return out, nil
}
