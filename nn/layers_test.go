package nn

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/nn/internal/npy"
)

// Fixtures for these tests come from nn/testdata/make_layer_fixtures.py
// (PyTorch, float64); regenerate with
//
//	/usr/bin/python3 nn/testdata/make_layer_fixtures.py

func layerFixture(t *testing.T, name, part string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join("testdata", "layers", name+"_"+part+".npy"))
	if err != nil {
		t.Fatalf("fixture (run /usr/bin/python3 nn/testdata/make_layer_fixtures.py): %v", err)
	}
	return a
}

func layerTensor(t *testing.T, name, part string) *Tensor {
	t.Helper()
	a := layerFixture(t, name, part)
	if len(a.Shape) != 5 {
		t.Fatalf("fixture %s_%s has shape %v, want 5-D", name, part, a.Shape)
	}
	x := NewTensor(a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3], a.Shape[4])
	copy(x.Data, a.F32())
	return x
}

func layerLabels(t *testing.T, name, part string) *Labels {
	t.Helper()
	a := layerFixture(t, name, part)
	if len(a.Shape) != 4 {
		t.Fatalf("fixture %s_%s has shape %v, want 4-D", name, part, a.Shape)
	}
	l := NewLabels(a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3])
	for i, v := range a.Data {
		l.Data[i] = uint8(v)
	}
	return l
}

// maxRelErr is max|got-want| / max|want|: the error relative to the
// tensor's scale.
func maxRelErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var md, mw float64
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		md = max(md, d)
		mw = max(mw, math.Abs(float64(want[i])))
	}
	return md / max(mw, 1e-30)
}

const torchTol = 1e-4

func expectClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if e := maxRelErr(got, want); e > torchTol {
		t.Errorf("%s: relative error %.3g > %.3g", what, e, torchTol)
	}
}

func TestInstanceNormMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fused bool
	}{{"instnorm", false}, {"instnorm_lrelu", true}} {
		t.Run(tc.name, func(t *testing.T) {
			x := layerTensor(t, tc.name, "x")
			var n *InstanceNorm3d
			if tc.fused {
				n = NewInstanceNormLeakyReLU(x.Shape[1], 0.01)
			} else {
				n = NewInstanceNorm3d(x.Shape[1])
			}
			copy(n.Weight.Data, layerFixture(t, tc.name, "w").F32())
			copy(n.Bias.Data, layerFixture(t, tc.name, "b").F32())
			y := n.Forward(x, true)
			expectClose(t, "y", y.Data, layerFixture(t, tc.name, "y").F32())
			gx := n.Backward(layerTensor(t, tc.name, "gy"))
			expectClose(t, "gx", gx.Data, layerFixture(t, tc.name, "gx").F32())
			expectClose(t, "gw", n.Weight.Grad, layerFixture(t, tc.name, "gw").F32())
			expectClose(t, "gb", n.Bias.Grad, layerFixture(t, tc.name, "gb").F32())

			// Inference gives the same output, also in place.
			want := append([]float32(nil), y.Data...)
			expectClose(t, "inference y", n.Forward(x, false).Data, want)
			n.InPlaceInference = true
			xc := &Tensor{Shape: x.Shape, Data: append([]float32(nil), x.Data...)}
			yi := n.Forward(xc, false)
			if &yi.Data[0] != &xc.Data[0] {
				t.Error("in-place inference did not reuse the input buffer")
			}
			expectClose(t, "in-place y", yi.Data, want)
		})
	}
}

func TestActivationsMatchPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *LeakyReLU
	}{{"lrelu", NewLeakyReLU(0.01)}, {"relu", NewReLU()}} {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.l.Forward(layerTensor(t, tc.name, "x"), true)
			expectClose(t, "y", y.Data, layerFixture(t, tc.name, "y").F32())
			gx := tc.l.Backward(layerTensor(t, tc.name, "gy"))
			expectClose(t, "gx", gx.Data, layerFixture(t, tc.name, "gx").F32())
		})
	}
}

func TestConcatMatchesPyTorch(t *testing.T) {
	var c Concat
	y := c.Forward(layerTensor(t, "concat", "a"), layerTensor(t, "concat", "b"))
	expectClose(t, "y", y.Data, layerFixture(t, "concat", "y").F32())
	ga, gb := c.Backward(layerTensor(t, "concat", "gy"))
	expectClose(t, "ga", ga.Data, layerFixture(t, "concat", "ga").F32())
	expectClose(t, "gb", gb.Data, layerFixture(t, "concat", "gb").F32())
	if ga.Shape[1] != 3 || gb.Shape[1] != 5 {
		t.Errorf("gradient shapes %v %v", ga.Shape, gb.Shape)
	}
}

func TestSoftmaxMatchesPyTorch(t *testing.T) {
	var s Softmax
	y := s.Forward(layerTensor(t, "softmax", "x"), true)
	expectClose(t, "y", y.Data, layerFixture(t, "softmax", "y").F32())
	gx := s.Backward(layerTensor(t, "softmax", "gy"))
	expectClose(t, "gx", gx.Data, layerFixture(t, "softmax", "gx").F32())
}

func TestLossesMatchPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss Loss
	}{
		{"ce", &CrossEntropyLoss{}},
		{"dice_batch", NewSoftDiceLoss(true)},
		{"dice_sample", NewSoftDiceLoss(false)},
		{"dicece_batch", NewDiceCELoss(true)},
		{"dicece_sample", NewDiceCELoss(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := layerTensor(t, tc.name, "x")
			l, err := tc.loss.Forward(x, layerLabels(t, tc.name, "t"))
			if err != nil {
				t.Fatal(err)
			}
			want := layerFixture(t, tc.name, "loss").Data[0]
			if math.Abs(l-want) > torchTol*max(1, math.Abs(want)) {
				t.Errorf("loss %.8g, PyTorch %.8g", l, want)
			}
			expectClose(t, "gx", tc.loss.Backward().Data, layerFixture(t, tc.name, "gx").F32())
		})
	}
}

func TestDeepSupervisionMatchesPyTorch(t *testing.T) {
	ds := NewDeepSupervisionLoss(3, func() Loss { return NewDiceCELoss(true) })
	w := layerFixture(t, "ds", "w").Data
	for i := range w {
		if math.Abs(ds.Weights[i]-w[i]) > 1e-7 { // the fixture is float32
			t.Errorf("weight %d = %v, nnU-Net %v", i, ds.Weights[i], w[i])
		}
	}
	var xs []*Tensor
	for _, p := range []string{"x0", "x1", "x2"} {
		xs = append(xs, layerTensor(t, "ds", p))
	}
	target := layerLabels(t, "ds", "t")
	for i, p := range []string{"t1", "t2"} {
		want := layerLabels(t, "ds", p)
		var got Labels
		if err := DownsampleLabels(&got, target, want.Shape); err != nil {
			t.Fatal(err)
		}
		for j := range got.Data {
			if got.Data[j] != want.Data[j] {
				t.Fatalf("downsampled target %d differs from interpolate(nearest-exact) at %d", i+1, j)
			}
		}
	}
	l, err := ds.Forward(xs, target)
	if err != nil {
		t.Fatal(err)
	}
	if want := layerFixture(t, "ds", "loss").Data[0]; math.Abs(l-want) > torchTol*max(1, math.Abs(want)) {
		t.Errorf("loss %.8g, PyTorch %.8g", l, want)
	}
	grads := ds.Backward()
	for i, g := range grads {
		want := layerFixture(t, "ds", "gx"+string(rune('0'+i))).F32()
		if g == nil {
			for _, v := range want {
				if v != 0 {
					t.Fatalf("output %d: nil gradient where PyTorch has non-zero", i)
				}
			}
			continue
		}
		expectClose(t, "gx"+string(rune('0'+i)), g.Data, want)
	}
}

func TestLossErrors(t *testing.T) {
	x := NewTensor(1, 3, 2, 2, 2)
	bad := NewLabels(1, 2, 2, 2)
	bad.Data[5] = 3
	if _, err := NewDiceCELoss(true).Forward(x, bad); err == nil {
		t.Error("label 3 with 3 classes accepted")
	}
	if _, err := (&CrossEntropyLoss{}).Forward(x, NewLabels(1, 2, 2, 3)); err == nil {
		t.Error("mismatched target shape accepted")
	}
	if _, err := NewSoftDiceLoss(false).Forward(NewTensor(1, 1, 2, 2, 2), NewLabels(1, 2, 2, 2)); err == nil {
		t.Error("Dice without foreground classes accepted")
	}
	var d Labels
	if err := DownsampleLabels(&d, NewLabels(1, 2, 2, 2), [4]int{1, 4, 2, 2}); err == nil {
		t.Error("upsampling accepted by DownsampleLabels")
	}
}

func TestDeepSupervisionWeights(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []float64
	}{
		{1, []float64{1}},
		{2, []float64{1, 0}},
		{4, []float64{4.0 / 7, 2.0 / 7, 1.0 / 7, 0}},
	} {
		got := DeepSupervisionWeights(tc.n)
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("n=%d: %v, want %v", tc.n, got, tc.want)
				break
			}
		}
	}
}

// fdLayer checks a layer's analytic gradients against central finite
// differences of L = sum(r*y), computed in float64 from the float32 output.
// Coordinates whose perturbation flips the sign of any output (a kink of a
// ReLU-type activation within the step) are skipped; most must be checked.
func fdLayer(t *testing.T, l Layer, x *Tensor, kinks bool, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	y := l.Forward(x, true)
	r := make([]float32, y.Len())
	for i := range r {
		r[i] = float32(rng.NormFloat64())
	}
	base := append([]float32(nil), y.Data...)
	for _, p := range l.Params() {
		p.ZeroGrad()
	}
	gx := append([]float32(nil), l.Backward(&Tensor{Shape: y.Shape, Data: append([]float32(nil), r...)}).Data...)
	eval := func() (float64, bool) {
		y := l.Forward(x, false)
		var s float64
		flip := false
		for i, v := range y.Data {
			s += float64(v) * float64(r[i])
			if kinks && (v > 0) != (base[i] > 0) {
				flip = true
			}
		}
		return s, flip
	}
	// A smaller step where kinks may lie near: fewer coordinates to skip.
	h := float32(1e-2)
	if kinks {
		h = 2e-3
	}
	check := func(what string, v, analytic []float32) {
		checked := 0
		for range 20 {
			i := rng.IntN(len(v))
			old := v[i]
			v[i] = old + h
			lp, f1 := eval()
			v[i] = old - h
			lm, f2 := eval()
			v[i] = old
			if f1 || f2 {
				continue
			}
			checked++
			num := (lp - lm) / (2 * float64(h))
			if d := math.Abs(num - float64(analytic[i])); d > 3e-3*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", what, i, analytic[i], num)
			}
		}
		if checked < 10 {
			t.Errorf("%s: only %d of 20 coordinates away from kinks", what, checked)
		}
	}
	check("dx", x.Data, gx)
	for _, p := range l.Params() {
		check(p.Name, p.Data, append([]float32(nil), p.Grad...))
	}
}

func randomTensor(rng *rand.Rand, s [5]int, scale, shift float64) *Tensor {
	x := NewTensor(s[0], s[1], s[2], s[3], s[4])
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64()*scale + shift)
	}
	return x
}

func TestLayerGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	norm := func(fused bool) Layer {
		var n *InstanceNorm3d
		if fused {
			n = NewInstanceNormLeakyReLU(3, 0.01)
		} else {
			n = NewInstanceNorm3d(3)
		}
		for i := range 3 {
			n.Weight.Data[i] = float32(0.5 + rng.Float64())
			n.Bias.Data[i] = float32(rng.NormFloat64() * 0.3)
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		l     Layer
		kinks bool
	}{
		{"instnorm", norm(false), false},
		{"instnorm_lrelu", norm(true), true},
		{"lrelu", NewLeakyReLU(0.01), true},
		{"relu", NewReLU(), true},
		{"softmax", &Softmax{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fdLayer(t, tc.l, randomTensor(rng, [5]int{2, 3, 3, 4, 5}, 1.5, 0.5), tc.kinks, 11)
		})
	}
}

func TestConcatGradientFiniteDifference(t *testing.T) {
	// Concat is linear, so L = sum(r*cat(a,b)) has gradient r split in two:
	// check a finite difference through it all the same.
	rng := rand.New(rand.NewPCG(5, 6))
	a := randomTensor(rng, [5]int{2, 2, 2, 3, 2}, 1, 0)
	b := randomTensor(rng, [5]int{2, 3, 2, 3, 2}, 1, 0)
	var c Concat
	y := c.Forward(a, b)
	r := randomTensor(rng, y.Shape, 1, 0)
	da, db := c.Backward(r)
	loss := func() float64 {
		var s float64
		for i, v := range c.Forward(a, b).Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for _, tc := range []struct {
		x, g *Tensor
	}{{a, da}, {b, db}} {
		g := append([]float32(nil), tc.g.Data...)
		for i := range tc.x.Data {
			old := tc.x.Data[i]
			tc.x.Data[i] = old + 0.5
			lp := loss()
			tc.x.Data[i] = old - 0.5
			lm := loss()
			tc.x.Data[i] = old
			if num := (lp - lm); math.Abs(num-float64(g[i])) > 1e-5 {
				t.Fatalf("element %d: analytic %v, finite difference %v", i, g[i], num)
			}
		}
	}
}

func TestLossGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, tc := range []struct {
		name string
		loss Loss
	}{
		{"ce", &CrossEntropyLoss{}},
		{"dice_batch", NewSoftDiceLoss(true)},
		{"dice_sample", NewSoftDiceLoss(false)},
		{"dicece_batch", NewDiceCELoss(true)},
		{"dicece_weighted", &DiceCELoss{WeightCE: 0.3, WeightDice: 2, Dice: *NewSoftDiceLoss(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randomTensor(rng, [5]int{2, 3, 3, 4, 5}, 2, 0)
			target := NewLabels(2, 3, 4, 5)
			for i := range target.Data {
				target.Data[i] = uint8(rng.IntN(3))
			}
			if _, err := tc.loss.Forward(x, target); err != nil {
				t.Fatal(err)
			}
			g := append([]float32(nil), tc.loss.Backward().Data...)
			const h = 1e-2
			for range 25 {
				i := rng.IntN(len(x.Data))
				old := x.Data[i]
				x.Data[i] = old + h
				lp, _ := tc.loss.Forward(x, target)
				x.Data[i] = old - h
				lm, _ := tc.loss.Forward(x, target)
				x.Data[i] = old
				num := (lp - lm) / (2 * h)
				if d := math.Abs(num - float64(g[i])); d > 1e-3*max(1e-2, math.Abs(num)) {
					t.Errorf("dx[%d]: analytic %.6g, finite difference %.6g", i, g[i], num)
				}
			}
		})
	}
}

func TestDeepSupervisionGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	ds := NewDeepSupervisionLoss(3, func() Loss { return NewDiceCELoss(false) })
	xs := []*Tensor{
		randomTensor(rng, [5]int{2, 2, 4, 4, 4}, 2, 0),
		randomTensor(rng, [5]int{2, 2, 2, 2, 2}, 2, 0),
		randomTensor(rng, [5]int{2, 2, 1, 1, 1}, 2, 0),
	}
	target := NewLabels(2, 4, 4, 4)
	for i := range target.Data {
		target.Data[i] = uint8(rng.IntN(2))
	}
	if _, err := ds.Forward(xs, target); err != nil {
		t.Fatal(err)
	}
	var grads [][]float32
	for _, g := range ds.Backward() {
		if g == nil {
			grads = append(grads, nil)
			continue
		}
		grads = append(grads, append([]float32(nil), g.Data...))
	}
	if grads[2] != nil {
		t.Error("lowest-resolution output got a gradient despite weight 0")
	}
	const h = 1e-2
	for lvl := range 2 {
		for range 10 {
			i := rng.IntN(len(xs[lvl].Data))
			old := xs[lvl].Data[i]
			xs[lvl].Data[i] = old + h
			lp, _ := ds.Forward(xs, target)
			xs[lvl].Data[i] = old - h
			lm, _ := ds.Forward(xs, target)
			xs[lvl].Data[i] = old
			num := (lp - lm) / (2 * h)
			if d := math.Abs(num - float64(grads[lvl][i])); d > 1e-3*max(1e-2, math.Abs(num)) {
				t.Errorf("level %d dx[%d]: analytic %.6g, finite difference %.6g", lvl, i, grads[lvl][i], num)
			}
		}
	}
}

func TestKaimingNormal(t *testing.T) {
	p := NewParam("w", 32, 16, 3, 3, 3)
	if err := KaimingNormal(p, 1e-2, NewRand(42)); err != nil {
		t.Fatal(err)
	}
	var s, s2 float64
	for _, v := range p.Data {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(p.Data))
	std := math.Sqrt(s2/n - (s/n)*(s/n))
	want := math.Sqrt(2/(1+1e-4)) / math.Sqrt(16*27)
	if math.Abs(std-want) > 0.03*want || math.Abs(s/n) > 0.05*want {
		t.Errorf("std %.5f mean %.5f, want std %.5f mean 0", std, s/n, want)
	}
	q := NewParam("w", 32, 16, 3, 3, 3)
	KaimingNormal(q, 1e-2, NewRand(42))
	for i := range p.Data {
		if p.Data[i] != q.Data[i] {
			t.Fatal("same seed gave different weights")
		}
	}
	KaimingNormal(q, 1e-2, NewRand(43))
	if p.Data[0] == q.Data[0] && p.Data[1] == q.Data[1] {
		t.Error("different seeds gave the same weights")
	}
	if err := KaimingNormal(NewParam("b", 4), 0, NewRand(1)); err == nil {
		t.Error("1-D parameter accepted")
	}
}

// The single-input layers satisfy the Layer contract.
var (
	_ Layer = (*InstanceNorm3d)(nil)
	_ Layer = (*LeakyReLU)(nil)
	_ Layer = (*Softmax)(nil)
)
