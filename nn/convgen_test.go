package nn

import (
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/nn/internal/npy"
)

func anisoFixture(t *testing.T, name, part string) (*npy.Array, bool) {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join("testdata", "aniso", name+"_"+part+".npy"))
	if err != nil {
		if part == "b" || part == "gb" {
			return nil, false
		}
		t.Fatalf("fixture %s_%s.npy (run /usr/bin/python3 nn/testdata/make_aniso_fixtures.py): %v", name, part, err)
	}
	return a, true
}

func anisoTensor(t *testing.T, name, part string) *Tensor {
	a, _ := anisoFixture(t, name, part)
	return tensorOf(t, a)
}

// The general path (per-axis kernel and stride) against PyTorch's
// Conv3d / ConvTranspose3d, forward and backward, run twice because the
// layers reuse their buffers and gradients accumulate.
func TestAnisoLayersMatchPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name string
		up   bool
	}{{"k133s1", false}, {"k133s122", false}, {"k313s212", false}, {"k3s122", false}, {"up122", true}, {"up212", true}} {
		t.Run(tc.name, func(t *testing.T) {
			x := anisoTensor(t, tc.name, "x")
			wa, _ := anisoFixture(t, tc.name, "w")
			ba, hasBias := anisoFixture(t, tc.name, "b")
			sa, _ := anisoFixture(t, tc.name, "stride")
			st := [3]int{int(sa.F32()[0]), int(sa.F32()[1]), int(sa.F32()[2])}
			k := [3]int{wa.Shape[2], wa.Shape[3], wa.Shape[4]}
			type layer interface {
				Forward(*Tensor, bool) *Tensor
				Backward(*Tensor) *Tensor
				Params() []*Param
			}
			var l layer
			if tc.up {
				c := NewConvTranspose3dStride(wa.Shape[0], wa.Shape[1], st)
				if c.StrideSize() != st || c.gen == nil {
					t.Fatalf("stride %v: got layer with stride %v, general %v", st, c.StrideSize(), c.gen != nil)
				}
				l = c
			} else {
				c := NewConv3dAniso(wa.Shape[1], wa.Shape[0], k, st, hasBias)
				if c.KernelSize() != k || c.StrideSize() != st {
					t.Fatalf("got kernel %v stride %v, want %v %v", c.KernelSize(), c.StrideSize(), k, st)
				}
				l = c
			}
			ps := l.Params()
			copy(ps[0].Data, wa.F32())
			if hasBias {
				copy(ps[1].Data, ba.F32())
			}
			gy := anisoTensor(t, tc.name, "gy")
			for rep := 1; rep <= 2; rep++ {
				y := l.Forward(x, true)
				checkClose(t, "y", y.Data, anisoTensor(t, tc.name, "y").Data, 1e-4)
				gx := l.Backward(gy)
				checkClose(t, "gx", gx.Data, anisoTensor(t, tc.name, "gx").Data, 1e-4)
				gw := anisoTensor(t, tc.name, "gw").Data
				for i := range gw {
					gw[i] *= float32(rep)
				}
				checkClose(t, "gw", ps[0].Grad, gw, 1e-4)
				if hasBias {
					gba, _ := anisoFixture(t, tc.name, "gb")
					gb := gba.F32()
					for i := range gb {
						gb[i] *= float32(rep)
					}
					checkClose(t, "gb", ps[1].Grad, gb, 1e-4)
				}
			}
		})
	}
}

// Cubic settings through the anisotropic constructors get the ordinary
// layers, so isotropic networks keep the tuned engine bit for bit.
func TestAnisoConstructorsKeepCubicPath(t *testing.T) {
	if c := NewConv3dAniso(2, 3, [3]int{3, 3, 3}, [3]int{2, 2, 2}, true); c.gen != nil || c.Kernel != 3 || c.Stride != 2 {
		t.Errorf("cubic conv took the general path: %+v", c)
	}
	if c := NewConvTranspose3dStride(2, 3, [3]int{2, 2, 2}); c.gen != nil {
		t.Error("2x2x2 transposed conv took the general path")
	}
}
