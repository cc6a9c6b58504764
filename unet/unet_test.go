package unet

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/optim"
)

// Fixtures come from unet/testdata/make_unet_fixtures.py (PyTorch, float64):
//
//	/usr/bin/python3 unet/testdata/make_unet_fixtures.py

func fixture(t *testing.T, name string) *nn.Safetensors {
	t.Helper()
	s, err := nn.LoadSafetensors(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture (run /usr/bin/python3 unet/testdata/make_unet_fixtures.py): %v", err)
	}
	return s
}

func get(t *testing.T, s *nn.Safetensors, name string) *nn.NamedTensor {
	t.Helper()
	v, ok := s.Get(name)
	if !ok {
		t.Fatalf("fixture lacks %s", name)
	}
	return v
}

func tensor5(t *testing.T, v *nn.NamedTensor) *nn.Tensor {
	t.Helper()
	if len(v.Shape) != 5 {
		t.Fatalf("%s: shape %v is not 5-D", v.Name, v.Shape)
	}
	x := nn.NewTensor(v.Shape[0], v.Shape[1], v.Shape[2], v.Shape[3], v.Shape[4])
	copy(x.Data, v.Data)
	return x
}

func labels4(t *testing.T, v *nn.NamedTensor) *nn.Labels {
	t.Helper()
	l := nn.NewLabels(v.Shape[0], v.Shape[1], v.Shape[2], v.Shape[3])
	for i, f := range v.Data {
		l.Data[i] = uint8(f)
	}
	return l
}

// relErr is max|got-want| / max|want|.
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

const tol = 1e-4

func TestMatchesPyTorch(t *testing.T) {
	u, meta, err := Load(filepath.Join("testdata", "initial.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	io := fixture(t, "io.safetensors")
	x := tensor5(t, get(t, io, "x"))
	target := labels4(t, get(t, io, "t"))
	outs := u.Forward(x, true)
	if len(outs) != 3 {
		t.Fatalf("%d outputs, want 3", len(outs))
	}
	for i, o := range outs {
		want := get(t, io, "out"+string(rune('0'+i)))
		if e := relErr(o.Data, want.Data); e > tol {
			t.Errorf("output %d: relative error %.3g", i, e)
		}
	}
	loss := nn.NewDeepSupervisionLoss(3, func() nn.Loss { return nn.NewDiceCELoss(true) })
	l, err := loss.Forward(outs, target)
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(get(t, io, "loss").Data[0]); math.Abs(l-want) > tol*math.Abs(want) {
		t.Errorf("loss %.7g, PyTorch %.7g", l, want)
	}
	u.ZeroGrad()
	if err := u.Backward(loss.Backward()); err != nil {
		t.Fatal(err)
	}
	grads := fixture(t, "grads.safetensors")
	// A convolution bias followed by instance norm has a true gradient of
	// zero (the norm removes any shift): PyTorch's are ~1e-17, ours ~1e-8,
	// float32 rounding of a sum that cancels. Those must be below 1e-5 of the
	// network's largest gradient; every other tensor within 1e-4 of its own
	// scale.
	var global float64
	for _, g := range grads.Tensors {
		for _, v := range g.Data {
			global = max(global, math.Abs(float64(v)))
		}
	}
	worst, worstName := 0.0, ""
	for _, p := range u.Params() {
		want := get(t, grads, p.Name).Data
		var md, mw float64
		for i, v := range want {
			md = max(md, math.Abs(float64(p.Grad[i]-v)))
			mw = max(mw, math.Abs(float64(v)))
		}
		if os.Getenv("UNET_DEBUG") != "" {
			t.Logf("%-45s err %.3g scale %.3g", p.Name, md, mw)
		}
		scale := mw
		if strings.HasSuffix(p.Name, "conv.bias") || mw == 0 {
			scale = 10 * global // 1e-5 of global, expressed against tol = 1e-4
		}
		if e := md / scale; e > worst || math.IsNaN(e) {
			worst, worstName = e, p.Name
		}
	}
	if !(worst <= tol) {
		t.Errorf("gradient of %s: relative error %.3g", worstName, worst)
	}
	t.Logf("largest gradient error %.3g (%s)", worst, worstName)

	opt, err := optim.NewSGD(u.Params(), optim.SGDConfig{LR: 1e-2, Momentum: 0.99, Nesterov: true, WeightDecay: 3e-5})
	if err != nil {
		t.Fatal(err)
	}
	opt.Step()
	stepped := fixture(t, "stepped.safetensors")
	for _, p := range u.Params() {
		if e := relErr(p.Data, get(t, stepped, p.Name).Data); e > tol {
			t.Errorf("%s after one SGD step: relative error %.3g", p.Name, e)
		}
	}

	// Inference gives the training forward's highest-resolution output.
	u2, _, _ := Load(filepath.Join("testdata", "initial.safetensors"))
	inf := u2.Forward(x, false)
	if e := relErr(inf[0].Data, get(t, io, "out0").Data); e > tol {
		t.Errorf("inference output: relative error %.3g", e)
	}
}

// TestPyTorchLoadsOurWeights saves a Go-initialised network, has PyTorch load
// it with load_state_dict(strict=True) into the mirror module and run it, and
// compares outputs: names, shapes, layout and metadata all carry over.
func TestPyTorchLoadsOurWeights(t *testing.T) {
	for _, cfg := range []Config{
		{InChannels: 2, NumClasses: 3, Features: []int{3, 6, 12}, ConvsPerStage: 2, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5},
		{InChannels: 1, NumClasses: 2, Features: []int{4, 8}, ConvsPerStage: 1, DeepSupervision: false, NegativeSlope: 0.1, NormEps: 1e-3},
	} {
		t.Run(fmt.Sprint(cfg.Features), func(t *testing.T) { pytorchLoads(t, cfg) })
	}
}

func pytorchLoads(t *testing.T, cfg Config) {
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.Init(7)
	// Non-trivial norm parameters and biases so every tensor matters.
	for i, p := range u.Params() {
		if len(p.Shape) == 1 {
			for j := range p.Data {
				p.Data[j] += float32(math.Sin(float64(i*7+j))) * 0.1
			}
		}
	}
	dir := t.TempDir()
	wpath := filepath.Join(dir, "w.safetensors")
	if err := u.Save(wpath, map[string]string{"note": "test"}); err != nil {
		t.Fatal(err)
	}
	x := nn.NewTensor(1, cfg.InChannels, 8, 12, 8)
	for i := range x.Data {
		x.Data[i] = float32(math.Cos(float64(i) * 0.37))
	}
	xpath := filepath.Join(dir, "x.safetensors")
	if err := nn.SaveSafetensors(xpath, []nn.NamedTensor{{Name: "x", Shape: x.Shape[:], Data: x.Data}}, nil); err != nil {
		t.Fatal(err)
	}
	opath := filepath.Join(dir, "out.safetensors")
	script := `import sys, json, torch
sys.path.insert(0, sys.argv[1])
import torch_unet as tu
w, meta = tu.read_safetensors(sys.argv[2])
assert meta["model"] == "PlainConvUNet" and meta["note"] == "test", meta
m = tu.PlainConvUNet(json.loads(meta["architecture"]))
m.load_state_dict(w, strict=True)
x, _ = tu.read_safetensors(sys.argv[3])
with torch.no_grad():
    outs = m(x["x"])
tu.write_safetensors(sys.argv[4], {f"out{i}": o for i, o in enumerate(outs)}, {})`
	wd, _ := os.Getwd()
	out, err := exec.Command("/usr/bin/python3", "-c", script, wd, wpath, xpath, opath).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 with torch (needed for this check): %v\n%s", err, out)
	}
	theirs, err := nn.LoadSafetensors(opath)
	if err != nil {
		t.Fatal(err)
	}
	ours := u.Forward(x, false)
	if len(ours) != len(theirs.Tensors) {
		t.Fatalf("%d outputs, PyTorch %d", len(ours), len(theirs.Tensors))
	}
	for i, o := range ours {
		if e := relErr(o.Data, get(t, theirs, "out"+string(rune('0'+i))).Data); e > tol {
			t.Errorf("output %d: PyTorch and otoseg differ by %.3g", i, e)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Features = []int{2, 4, 8}
	u, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	u.Init(1)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := u.Save(path, map[string]string{"plans": `{"patch":[64,64,64]}`}); err != nil {
		t.Fatal(err)
	}
	v, meta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["plans"] != `{"patch":[64,64,64]}` {
		t.Errorf("extra metadata lost: %v", meta)
	}
	got, _ := json.Marshal(v.Config())
	want, _ := json.Marshal(c)
	if string(got) != string(want) {
		t.Errorf("config %s, want %s", got, want)
	}
	for i, p := range u.Params() {
		q := v.Params()[i]
		if p.Name != q.Name || relErr(q.Data, p.Data) != 0 {
			t.Fatalf("%s differs after reload", p.Name)
		}
	}
	if err := u.Save(path, map[string]string{"architecture": "x"}); err == nil {
		t.Error("reserved metadata key accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	c := Config{InChannels: 1, NumClasses: 2, Features: []int{2, 4}, ConvsPerStage: 1, NegativeSlope: 0.01, NormEps: 1e-5}
	u, _ := New(c)
	good := nn.ParamTensors(u.Params())
	meta := func(arch string) map[string]string {
		return map[string]string{"model": "PlainConvUNet", "version": "1", "architecture": arch}
	}
	arch := c.MarshalConfig()
	for _, tc := range []struct {
		name    string
		tensors []nn.NamedTensor
		meta    map[string]string
		want    string
	}{
		{"no model", good, map[string]string{}, "PlainConvUNet"},
		{"version", good, map[string]string{"model": "PlainConvUNet", "version": "9", "architecture": arch}, "version"},
		{"no architecture", good, map[string]string{"model": "PlainConvUNet", "version": "1"}, "architecture"},
		{"bad json", good, meta("{"), "architecture"},
		{"unknown field", good, meta(`{"in_channels":1,"bogus":2}`), "bogus"},
		{"invalid config", good, meta(`{"in_channels":1,"num_classes":2,"features":[2],"convs_per_stage":1,"negative_slope":0.01,"norm_eps":1e-5}`), "stages"},
		{"missing tensor", good[1:], meta(arch), "lack"},
		{"extra tensor", append(append([]nn.NamedTensor{}, good...), nn.NamedTensor{Name: "extra", Shape: []int{1}, Data: []float32{1}}), meta(arch), "extra"},
		{"wrong shape", append([]nn.NamedTensor{{Name: good[0].Name, Shape: []int{1}, Data: []float32{1}}}, good[1:]...), meta(arch), "shape"},
	} {
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := nn.SaveSafetensors(path, tc.tensors, tc.meta); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "w.safetensors") {
			t.Errorf("%s: error %v, want one naming the file and mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no classes", func(c *Config) { c.NumClasses = 1 }},
		{"one stage", func(c *Config) { c.Features = []int{8} }},
		{"zero feature", func(c *Config) { c.Features = []int{8, 0} }},
		{"no convs", func(c *Config) { c.ConvsPerStage = 0 }},
		{"slope", func(c *Config) { c.NegativeSlope = -1 }},
		{"eps", func(c *Config) { c.NormEps = 0 }},
		{"in channels", func(c *Config) { c.InChannels = 0 }},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted", tc.name)
		}
	}
	u, _ := New(ok)
	if err := u.CheckInput(nn.NewTensor(1, 1, 32, 32, 24)); err == nil {
		t.Error("size 24 accepted with divisor 16")
	}
	if err := u.CheckInput(nn.NewTensor(1, 2, 32, 32, 32)); err == nil {
		t.Error("2 channels accepted")
	}
}

func TestInitDeterministic(t *testing.T) {
	c := DefaultConfig()
	c.Features = []int{4, 8, 16}
	a, _ := New(c)
	b, _ := New(c)
	a.Init(5)
	b.Init(5)
	for i, p := range a.Params() {
		q := b.Params()[i]
		if relErr(p.Data, q.Data) != 0 {
			t.Fatalf("%s differs for the same seed", p.Name)
		}
		switch {
		case strings.HasSuffix(p.Name, "norm.weight"):
			if p.Data[0] != 1 {
				t.Errorf("%s = %v, want 1", p.Name, p.Data[0])
			}
		case strings.HasSuffix(p.Name, "bias"):
			if p.Data[0] != 0 {
				t.Errorf("%s = %v, want 0", p.Name, p.Data[0])
			}
		}
	}
}

// TestBackwardPartialGradients checks that nil output gradients count as
// zero: the gradient from the highest-resolution output alone equals the
// full gradient with the other outputs' gradients zero.
func TestBackwardPartialGradients(t *testing.T) {
	c := Config{InChannels: 1, NumClasses: 2, Features: []int{2, 4, 8}, ConvsPerStage: 1, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	u, _ := New(c)
	u.Init(3)
	x := nn.NewTensor(1, 1, 8, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)))
	}
	run := func(zeroTensors bool) [][]float32 {
		outs := u.Forward(x, true)
		dys := make([]*nn.Tensor, len(outs))
		for i, o := range outs {
			d := nn.NewTensor(o.Shape[0], o.Shape[1], o.Shape[2], o.Shape[3], o.Shape[4])
			if i == 0 {
				for j := range d.Data {
					d.Data[j] = float32(math.Cos(float64(j)))
				}
			} else if !zeroTensors {
				d = nil
			}
			dys[i] = d
		}
		u.ZeroGrad()
		if err := u.Backward(dys); err != nil {
			t.Fatal(err)
		}
		var g [][]float32
		for _, p := range u.Params() {
			g = append(g, append([]float32(nil), p.Grad...))
		}
		return g
	}
	a, b := run(false), run(true)
	for i := range a {
		if e := relErr(a[i], b[i]); e > 1e-6 {
			t.Errorf("%s: nil and zero output gradients differ by %.3g", u.Params()[i].Name, e)
		}
	}
	if err := u.Backward(nil); err == nil {
		t.Error("wrong number of gradients accepted")
	}
}

// paramShapes, which Load checks files against before allocating, must list
// exactly what New builds.
func TestParamShapesMatchNew(t *testing.T) {
	for _, c := range []Config{
		DefaultConfig(),
		{InChannels: 2, NumClasses: 3, Features: []int{3, 5}, ConvsPerStage: 1, NegativeSlope: 0.01, NormEps: 1e-5},
		{InChannels: 1, NumClasses: 2, Features: []int{4, 8, 16, 32, 64, 128}, ConvsPerStage: 3, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5},
		anisoConfig(),
	} {
		u, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		want := c.paramShapes()
		if len(want) != len(u.Params()) {
			t.Fatalf("%v: %d shapes, %d parameters", c.Features, len(want), len(u.Params()))
		}
		for i, p := range u.Params() {
			if p.Name != want[i].name || !slices.Equal(p.Shape, want[i].shape) {
				t.Errorf("parameter %d: %s %v, paramShapes says %s %v", i, p.Name, p.Shape, want[i].name, want[i].shape)
			}
		}
	}
}

// anisoConfig is an nnU-Net-style plan for thick slices: 1x3x3 kernels and
// a 1x2x2 stride where the slices are coarse.
func anisoConfig() Config {
	return Config{InChannels: 1, NumClasses: 3, Features: []int{2, 4, 6, 8}, ConvsPerStage: 2, NegativeSlope: 0.01, NormEps: 1e-5,
		Kernels: [][3]int{{1, 3, 3}, {1, 3, 3}, {3, 3, 3}, {3, 3, 3}},
		Strides: [][3]int{{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {2, 2, 2}}}
}

// An anisotropic network runs on inputs that are multiples of its
// per-axis divisors, keeps its geometry through a weights file, and rejects
// sizes only its cubic counterpart would take.
func TestAnisoNetwork(t *testing.T) {
	c := anisoConfig()
	if d := c.Divisors(); d != [3]int{4, 8, 8} {
		t.Fatalf("divisors %v, want [4 8 8]", d)
	}
	u, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	u.Init(3)
	x := nn.NewTensor(1, 1, 4, 8, 16)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	y := u.Forward(x, false)[0]
	if y.Shape != [5]int{1, 3, 4, 8, 16} {
		t.Fatalf("output %v", y.Shape)
	}
	want := append([]float32(nil), y.Data...)
	if err := u.CheckInput(nn.NewTensor(1, 1, 2, 8, 8)); err == nil {
		t.Error("depth 2 accepted, the strides divide it by 4")
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := u.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	v, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Config(); !slices.Equal(got.Kernels, c.Kernels) || !slices.Equal(got.Strides, c.Strides) {
		t.Fatalf("loaded geometry %v %v", got.Kernels, got.Strides)
	}
	if got := v.Forward(x, false)[0].Data; !slices.Equal(got, want) {
		t.Error("reloaded network computes something else")
	}
	bad := c
	bad.Kernels = [][3]int{{1, 3, 3}, {2, 3, 3}, {3, 3, 3}, {3, 3, 3}}
	if err := bad.Validate(); err == nil {
		t.Error("even kernel accepted")
	}
	bad = c
	bad.Strides = nil
	if err := bad.Validate(); err == nil {
		t.Error("kernels without strides accepted")
	}
}
