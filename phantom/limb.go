package phantom

import (
	"math"
	"math/rand/v2"

	"github.com/otoseg/otoseg/volume"
)

// Limb is a CT without an inner ear, quicker to make than NonEar: a limb-like
// cylinder of muscle and fat around a long bone (cortex and marrow), with
// noise, on a 0.4-0.6 mm grid with 1 mm slices. A localiser trained with a
// few of these learns that dense bone alone is not an ear. It draws from
// rng, so a caller's sequence of negatives follows from one seed.
func Limb(rng *rand.Rand) *volume.Volume { return limb(rng, false) }

// Blank is Limb's field of view with only air and noise in it.
func Blank(rng *rand.Rand) *volume.Volume { return limb(rng, true) }

// limb draws a 256 x 256 x 64 scan from rng: a limb in soft tissue or, when
// blank, air, both with noise. Both draw the same numbers from rng in the
// same order, so a sequence of negatives does not depend on which is which.
func limb(rng *rand.Rand, blank bool) *volume.Volume {
	sp := 0.4 + 0.2*rng.Float64()
	g := volume.NewGeometry([3]int{256, 256, 64}, [3]float64{sp, sp, 1})
	g.Origin = [3]float64{-128 * sp, -128 * sp, -32}
	v := volume.New(g, volume.Int16)
	r0 := 35 + 15*rng.Float64()
	rb := 8 + 6*rng.Float64()
	cx, cy := 10*(rng.Float64()-0.5), 10*(rng.Float64()-0.5)
	for k := 0; k < 64; k++ {
		for j := 0; j < 256; j++ {
			for i := 0; i < 256; i++ {
				hu := -1000.0
				if !blank {
					x, y := (float64(i)-128)*sp-cx, (float64(j)-128)*sp-cy
					r := math.Hypot(x, y)
					switch {
					case r < rb-2:
						hu = 250 // marrow
					case r < rb:
						hu = 1600 // cortex
					case r < r0:
						hu = 40 // muscle
					case r < r0+3:
						hu = -90 // fat
					}
				}
				v.Data[g.Index(i, j, k)] = float32(hu + 30*rng.NormFloat64())
			}
		}
	}
	return v
}
