package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/nn/internal/npy"
)

// loadFixture reads nn/testdata/conv/<name>_<part>.npy; ok is false when the
// file does not exist (a layer without bias has no b/gb).
func loadFixture(t *testing.T, name, part string) (*npy.Array, bool) {
	t.Helper()
	p := filepath.Join("testdata", "conv", name+"_"+part+".npy")
	if _, err := os.Stat(p); os.IsNotExist(err) {
		return nil, false
	}
	a, err := npy.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

func mustFixture(t *testing.T, name, part string) *npy.Array {
	t.Helper()
	a, ok := loadFixture(t, name, part)
	if !ok {
		t.Fatalf("fixture %s_%s.npy missing: run /usr/bin/python3 nn/testdata/make_conv_fixtures.py", name, part)
	}
	return a
}

func tensorOf(t *testing.T, a *npy.Array) *Tensor {
	t.Helper()
	if len(a.Shape) != 5 {
		t.Fatalf("fixture shape %v is not 5-D", a.Shape)
	}
	x := NewTensor(a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3], a.Shape[4])
	copy(x.Data, a.F32())
	return x
}

// relErr is max|got-want| / max(|want|, tiny): the error relative to the
// tensor's scale, which is what float32 summation order can disturb.
func relErr(got, want []float32) float64 {
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

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if e := relErr(got, want); e > tol {
		t.Errorf("%s: relative error %.3g > %.3g", what, e, tol)
	}
}

var convFixtures = []string{"k3s1", "k3s1_wide", "k3s1_odd", "k3s1_c32", "k3s2_odd", "k3s2_even", "k3s2_wide", "k1", "k1_wide"}
var upFixtures = []string{"up", "up_odd", "up_c32"}

// forEachPath runs f once per kernel path this CPU can run.
func forEachPath(t *testing.T, f func(t *testing.T, k *kernels)) {
	for _, k := range availableKernels() {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func TestConv3dMatchesPyTorch(t *testing.T) {
	forEachPath(t, func(t *testing.T, k *kernels) {
		// One scratch for every layer of the "shared" runs, as a network
		// shares it: no pass may depend on what another left there.
		shared := &ConvScratch{}
		for _, mode := range []string{"auto", "rows", "shared"} {
			for _, name := range convFixtures {
				t.Run(mode+"/"+name, func(t *testing.T) {
					x := tensorOf(t, mustFixture(t, name, "x"))
					wa := mustFixture(t, name, "w")
					ba, hasBias := loadFixture(t, name, "b")
					out, in, ks := wa.Shape[0], wa.Shape[1], wa.Shape[2]
					y := mustFixture(t, name, "y")
					stride := 1
					if x.Shape[2] > 1 && y.Shape[2] < x.Shape[2] {
						stride = 2
					}
					c := NewConv3d(in, out, ks, stride, hasBias)
					c.engine.kern = k
					c.engine.rowsOnly = mode == "rows"
					if mode == "shared" {
						c.Scratch = shared
					}
					copy(c.Weight.Data, wa.F32())
					if hasBias {
						copy(c.Bias.Data, ba.F32())
					}
					for rep := 0; rep < 2; rep++ { // twice: buffers are reused
						got := c.Forward(x, true)
						checkClose(t, "y", got.Data, y.F32(), 1e-4)
					}
					gy := tensorOf(t, mustFixture(t, name, "gy"))
					gx := c.Backward(gy)
					checkClose(t, "gx", gx.Data, mustFixture(t, name, "gx").F32(), 1e-4)
					checkClose(t, "gw", c.Weight.Grad, mustFixture(t, name, "gw").F32(), 1e-4)
					if hasBias {
						checkClose(t, "gb", c.Bias.Grad, mustFixture(t, name, "gb").F32(), 1e-4)
					}
					// Gradients accumulate: a second Backward doubles them.
					gw1 := append([]float32(nil), c.Weight.Grad...)
					c.Forward(x, true)
					c.Backward(gy)
					for i := range gw1 {
						gw1[i] *= 2
					}
					checkClose(t, "2*gw", c.Weight.Grad, gw1, 1e-4)
					// Inference gives the same output.
					yi := c.Forward(x, false)
					checkClose(t, "y inference", yi.Data, y.F32(), 1e-4)
				})
			}
		}
	})
}

func TestConvTranspose3dMatchesPyTorch(t *testing.T) {
	forEachPath(t, func(t *testing.T, k *kernels) {
		shared := &ConvScratch{}
		for _, name := range upFixtures {
			t.Run(name, func(t *testing.T) {
				x := tensorOf(t, mustFixture(t, name, "x"))
				wa := mustFixture(t, name, "w")
				c := NewConvTranspose3d(wa.Shape[0], wa.Shape[1])
				c.engine.kern = k
				c.Scratch = shared
				copy(c.Weight.Data, wa.F32())
				copy(c.Bias.Data, mustFixture(t, name, "b").F32())
				y := mustFixture(t, name, "y")
				for rep := 0; rep < 2; rep++ {
					got := c.Forward(x, true)
					checkClose(t, "y", got.Data, y.F32(), 1e-4)
				}
				gx := c.Backward(tensorOf(t, mustFixture(t, name, "gy")))
				checkClose(t, "gx", gx.Data, mustFixture(t, name, "gx").F32(), 1e-4)
				checkClose(t, "gw", c.Weight.Grad, mustFixture(t, name, "gw").F32(), 1e-4)
				checkClose(t, "gb", c.Bias.Grad, mustFixture(t, name, "gb").F32(), 1e-4)
			})
		}
	})
}

// lossOf is L = sum(r * layer(x)) computed in float64 from the layer's float32
// output; its gradient with respect to the output is r.
func lossOf(l Layer, x *Tensor, r []float32) float64 {
	y := l.Forward(x, false)
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r[i])
	}
	return s
}

// gradCheck compares the analytic gradients of L = sum(r*y) with central
// finite differences at a few sampled coordinates of x and of each parameter.
func gradCheck(t *testing.T, l Layer, x *Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	y := l.Forward(x, true)
	r := make([]float32, y.Len())
	for i := range r {
		r[i] = float32(rng.NormFloat64())
	}
	dy := &Tensor{Shape: y.Shape, Data: append([]float32(nil), r...)}
	for _, p := range l.Params() {
		p.ZeroGrad()
	}
	l.Forward(x, true)
	gx := append([]float32(nil), l.Backward(dy).Data...)
	const h = 1e-2
	check := func(what string, v []float32, analytic []float32) {
		for s := 0; s < 12; s++ {
			i := rng.IntN(len(v))
			old := v[i]
			v[i] = old + h
			lp := lossOf(l, x, r)
			v[i] = old - h
			lm := lossOf(l, x, r)
			v[i] = old
			num := (lp - lm) / (2 * h)
			if d := math.Abs(num - float64(analytic[i])); d > 2e-3*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", what, i, analytic[i], num)
			}
		}
	}
	check("dx", x.Data, gx)
	for _, p := range l.Params() {
		check(p.Name, p.Data, append([]float32(nil), p.Grad...))
	}
}

func randTensor(rng *rand.Rand, n, c, d, h, w int) *Tensor {
	x := NewTensor(n, c, d, h, w)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func randParams(rng *rand.Rand, l Layer) {
	for _, p := range l.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64() * 0.3)
		}
	}
}

func TestConvGradientsFiniteDifference(t *testing.T) {
	forEachPath(t, func(t *testing.T, k *kernels) {
		cases := []struct {
			in, out, ks, stride int
			shape               [3]int
		}{
			{3, 4, 3, 1, [3]int{4, 5, 6}},
			{2, 3, 3, 2, [3]int{5, 4, 7}},
			{5, 3, 1, 1, [3]int{3, 2, 19}},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%dto%d_k%ds%d", tc.in, tc.out, tc.ks, tc.stride), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				c := NewConv3d(tc.in, tc.out, tc.ks, tc.stride, true)
				c.engine.kern = k
				randParams(rng, c)
				gradCheck(t, c, randTensor(rng, 2, tc.in, tc.shape[0], tc.shape[1], tc.shape[2]))
			})
		}
		t.Run("up", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			c := NewConvTranspose3d(3, 2)
			c.engine.kern = k
			randParams(rng, c)
			gradCheck(t, c, randTensor(rng, 1, 3, 2, 3, 5))
		})
	})
}

// TestPathsAgree runs every kernel path on the same larger random problems
// (many channels, sizes that leave vector tails) and compares them with the
// portable path.
func TestPathsAgree(t *testing.T) {
	paths := availableKernels()
	ref := paths[len(paths)-1] // the portable Go path is always last
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		in, out, ks, stride int
		shape               [3]int
	}{
		{16, 16, 3, 1, [3]int{6, 7, 48}},
		{24, 40, 3, 1, [3]int{5, 9, 13}},
		{33, 17, 3, 2, [3]int{7, 8, 35}},
		{64, 10, 1, 1, [3]int{3, 4, 17}},
	}
	for _, tc := range cases {
		x := randTensor(rng, 1, tc.in, tc.shape[0], tc.shape[1], tc.shape[2])
		w := make([]float32, tc.out*tc.in*tc.ks*tc.ks*tc.ks)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		run := func(k *kernels) (y, gx, gw []float32) {
			c := NewConv3d(tc.in, tc.out, tc.ks, tc.stride, true)
			c.engine.kern = k
			copy(c.Weight.Data, w)
			yt := c.Forward(x, true)
			gxt := c.Backward(yt)
			return append([]float32(nil), yt.Data...), append([]float32(nil), gxt.Data...), c.Weight.Grad
		}
		ry, rgx, rgw := run(ref)
		for _, k := range paths[:len(paths)-1] {
			y, gx, gw := run(k)
			name := fmt.Sprintf("%s %dto%d k%ds%d %v", k.name, tc.in, tc.out, tc.ks, tc.stride, tc.shape)
			checkClose(t, name+" y", y, ry, 1e-5)
			checkClose(t, name+" gx", gx, rgx, 1e-5)
			checkClose(t, name+" gw", gw, rgw, 1e-5)
		}
	}
}

// TestFastMatchesReference holds the engine to the plain loops (refConv*)
// on configurations the PyTorch fixtures do not cover: kernel 5, sizes of 1,
// single channels, batches, and a configuration only the loops handle.
func TestFastMatchesReference(t *testing.T) {
	cases := []struct {
		n, in, out, ks, stride int
		shape                  [3]int
	}{
		{1, 2, 3, 5, 1, [3]int{6, 5, 7}},
		{2, 1, 1, 3, 1, [3]int{1, 1, 1}},
		{1, 3, 9, 3, 2, [3]int{1, 2, 3}},
		{3, 4, 5, 3, 2, [3]int{2, 5, 33}},
		{1, 9, 17, 1, 1, [3]int{1, 1, 5}},
		{1, 3, 4, 1, 2, [3]int{4, 5, 6}}, // stride-2 1x1: reference loops only
	}
	for _, k := range availableKernels() {
		for _, tc := range cases {
			name := fmt.Sprintf("%s/n%d_%dto%d_k%ds%d_%v", k.name, tc.n, tc.in, tc.out, tc.ks, tc.stride, tc.shape)
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 10))
				c := NewConv3d(tc.in, tc.out, tc.ks, tc.stride, true)
				c.engine.kern = k
				randParams(rng, c)
				x := randTensor(rng, tc.n, tc.in, tc.shape[0], tc.shape[1], tc.shape[2])
				g := c.geom(x.Shape)
				y := c.Forward(x, true)
				ref := make([]float32, y.Len())
				refConvForward(&g, x.Data, c.Weight.Data, c.Bias.Data, ref, 1)
				checkClose(t, "y", y.Data, ref, 1e-5)
				dy := randTensor(rng, y.Shape[0], y.Shape[1], y.Shape[2], y.Shape[3], y.Shape[4])
				gx := c.Backward(dy)
				rdx := make([]float32, x.Len())
				refConvBackwardData(&g, dy.Data, c.Weight.Data, rdx, 1)
				checkClose(t, "gx", gx.Data, rdx, 1e-5)
				rdw, rdb := make([]float32, len(c.Weight.Grad)), make([]float32, tc.out)
				refConvBackwardWeight(&g, x.Data, dy.Data, rdw, rdb, 1)
				checkClose(t, "gw", c.Weight.Grad, rdw, 1e-5)
				checkClose(t, "gb", c.Bias.Grad, rdb, 1e-5)
			})
		}
	}
}

// TestThreadsDoNotChangeResults: work is split so that each output element
// is summed by one goroutine in a fixed order, so any thread count gives the
// same bits.
func TestThreadsDoNotChangeResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := randTensor(rng, 2, 12, 5, 9, 20)
	var first [][]float32
	for _, th := range []int{1, 2, 3, 7} {
		c := NewConv3d(12, 10, 3, 1, true)
		c.Threads = th
		randParams(rand.New(rand.NewPCG(13, 14)), c)
		y := c.Forward(x, true)
		gx := c.Backward(y)
		got := [][]float32{append([]float32(nil), y.Data...), append([]float32(nil), gx.Data...), c.Weight.Grad, c.Bias.Grad}
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			for j := range got[i] {
				if got[i][j] != first[i][j] {
					t.Fatalf("threads %d: result %d element %d = %v, with 1 thread %v", th, i, j, got[i][j], first[i][j])
				}
			}
		}
	}
}

func TestInterleave(t *testing.T) {
	for _, k := range availableKernels() {
		for _, n := range []int{0, 1, 15, 16, 17, 33, 64} {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(i), float32(-i-1)
			}
			d := make([]float32, 2*n+1)
			d[2*n] = 99
			k.ilv(d[:2*n], a, b)
			for i := 0; i < n; i++ {
				if d[2*i] != a[i] || d[2*i+1] != b[i] {
					t.Fatalf("%s ilv n=%d: pair %d = %v, %v", k.name, n, i, d[2*i], d[2*i+1])
				}
			}
			if d[2*n] != 99 {
				t.Fatalf("%s ilv n=%d wrote past the end", k.name, n)
			}
			a2, b2 := make([]float32, n), make([]float32, n)
			k.dilv(a2, b2, d[:2*n])
			for i := range a2 {
				if a2[i] != a[i] || b2[i] != b[i] {
					t.Fatalf("%s dilv n=%d: element %d = %v, %v", k.name, n, i, a2[i], b2[i])
				}
			}
		}
	}
}
