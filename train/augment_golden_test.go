//go:build amd64 && !amd64.v3

package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
)

// goldenCutHash is the SHA-256 of patches cut by goldenCuts, computed with
// the code as it was before elastic deformation was added. Recipes without
// elastic deformation (PElastic 0) must keep producing these bytes: a run
// resumed or repeated with the same seed trains on the same patches. If a
// deliberate change to the augmentations moves it, recompute it and say so.
//
// The build constraint keeps the test to amd64 without FMA fusion
// (GOAMD64 below v3): other targets may round the same arithmetic
// differently. TestCutWithoutElasticIsUnchanged checks the same property on
// every target against a copy of the old code.
const goldenCutHash = "c505f7d443607c2d58caf40d45a58aebb76a61078ee8229d485f8bb7042ec919"

func TestCutGoldenWithoutElastic(t *testing.T) {
	if got := goldenCuts(); got != goldenCutHash {
		t.Errorf("patches without elastic deformation changed: hash %s, want %s", got, goldenCutHash)
	}
}

// goldenCuts cuts 40 patches with nnU-Net's augmentation and the HU
// calibration on, on an anisotropic sample, and hashes images, labels and
// the random stream's next value.
func goldenCuts() string {
	s := sphereSample(40, 8)
	s.Spacing = [3]float64{0.3, 0.3, 0.45}
	for i := range s.Image {
		s.Image[i] = s.Image[i]/200000 - 1
	}
	a := NNUNetAugment()
	a.PCalib, a.CalibGain, a.CalibOffset, a.CalibMean, a.CalibStd = 0.3, 0.1, 50, 380, 377
	p := Patcher{Patch: [3]int{24, 16, 20}, ForegroundFraction: 0.33, Aug: a}
	n := 24 * 16 * 20
	img, lab := make([]float32, n), make([]uint8, n)
	rng := rand.New(rand.NewPCG(7, 8))
	h := sha256.New()
	var b [8]byte
	for trial := 0; trial < 40; trial++ {
		p.Cut(rng, s, img, lab)
		for _, v := range img {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			h.Write(b[:4])
		}
		h.Write(lab)
	}
	binary.LittleEndian.PutUint64(b[:], rng.Uint64())
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
}
