package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NewRand returns the engine's deterministic random source: PCG seeded from
// seed. Initialisation takes it explicitly, so there is no global state and
// the same seed gives the same network on every machine.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6f746f736567)) // "otoseg"
}

// KaimingNormal fills p like PyTorch's
// nn.init.kaiming_normal_(w, a=negSlope, mode="fan_in", nonlinearity="leaky_relu"):
// normal with standard deviation sqrt(2/(1+a^2)) / sqrt(fan_in), where
// fan_in = shape[1] * prod(shape[2:]). That is in*k^3 for a convolution
// weight [out, in, k, k, k] and, as PyTorch computes it, out*k^3 for a
// transposed convolution's [in, out, k, k, k]. nnU-Net's InitWeights_He uses
// a = 1e-2 for both and sets biases to zero.
func KaimingNormal(p *Param, negSlope float64, rng *rand.Rand) error {
	if len(p.Shape) < 2 {
		return fmt.Errorf("kaiming init: parameter %q of shape %v has no fan-in", p.Name, p.Shape)
	}
	fanIn := p.Shape[1]
	for _, s := range p.Shape[2:] {
		fanIn *= s
	}
	std := math.Sqrt(2/(1+negSlope*negSlope)) / math.Sqrt(float64(fanIn))
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64() * std)
	}
	return nil
}
