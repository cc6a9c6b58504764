package nnunet

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/volume"
)

// The fixtures are nnU-Net-layout folders written by PyTorch
// (testdata/make_fixtures.py): fold_0 trained on phantoms, fold_1 random.
const fixtureHint = "(regenerate: see testdata/make_fixtures.py)"

var fixtures = []struct {
	name, dir string
}{
	{"iso", "testdata/iso/Dataset901_PhantomIso/nnUNetTrainer__nnUNetPlans__3d_fullres"},
	{"aniso", "testdata/aniso/Dataset902_PhantomAniso/nnUNetTrainer__nnUNetPlans__3d_fullres"},
}

func importFixture(t *testing.T, dir string, folds []int) *Loaded {
	t.Helper()
	out := filepath.Join(t.TempDir(), "model")
	if _, err := Import(dir, out, folds); err != nil {
		t.Fatalf("import %s %s: %v", dir, fixtureHint, err)
	}
	l, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func maxAbsDiff(got, want []float32) (d, scale float64) {
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return d, scale
}

// otoseg's network, built from the plan and loaded from the checkpoint,
// gives PyTorch's logits on a patch, for trained and random weights.
func TestImportedLogitsMatchPyTorch(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			l := importFixture(t, fx.dir, nil)
			if len(l.Nets) != 2 || l.Folds[0] != 0 || l.Folds[1] != 1 {
				t.Fatalf("imported folds %v", l.Folds)
			}
			ref, err := nn.LoadSafetensors(filepath.Join(fx.dir, "patch.safetensors"))
			if err != nil {
				t.Fatalf("%v %s", err, fixtureHint)
			}
			xt, _ := ref.Get("x")
			x := &nn.Tensor{Data: xt.Data}
			copy(x.Shape[:], xt.Shape)
			for f, net := range l.Nets {
				want, ok := ref.Get(fmt.Sprintf("fold_%d.logits", f))
				if !ok {
					t.Fatalf("fold_%d.logits missing %s", f, fixtureHint)
				}
				got := net.Forward(x, false)[0]
				if d, s := maxAbsDiff(got.Data, want.Data); d > 1e-4*max(1, s) || len(got.Data) != len(want.Data) {
					t.Errorf("fold %d: max |otoseg - PyTorch| = %.3g (logits up to %.3g)", f, d, s)
				}
			}
		})
	}
}

// A whole phantom scan through nnU-Net's pipeline (crop, normalise,
// resample, Gaussian sliding window with mirroring, fold averaging,
// resample back, argmax) agrees with the PyTorch reimplementation of
// nnU-Net's predictor.
func TestSegmentMatchesPyTorchPredictor(t *testing.T) {
	scan, err := imageio.Read("testdata/scan.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fixture int
		folds   []int
		ref     string
	}{
		{0, []int{0}, "pred_iso_fold0.nii.gz"},
		{0, nil, "pred_iso_all.nii.gz"},
		{1, []int{0}, "pred_aniso_fold0.nii.gz"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			l := importFixture(t, fixtures[tc.fixture].dir, tc.folds)
			res, err := l.Segment(context.Background(), scan, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := imageio.Read(filepath.Join("testdata", tc.ref))
			if err != nil {
				t.Fatalf("%v %s", err, fixtureHint)
			}
			var inter, a, b, fgRef int
			for i, v := range res.Labels.Data {
				w := want.Data[i]
				if w > 0 {
					fgRef++
				}
				if v > 0 {
					a++
				}
				if w > 0 {
					b++
				}
				if v > 0 && v == w {
					inter++
				}
			}
			if fgRef < 100 {
				t.Fatalf("reference prediction has %d foreground voxels: nothing to compare %s", fgRef, fixtureHint)
			}
			dice := 2 * float64(inter) / float64(a+b)
			t.Logf("%s: Dice (labels agreeing) %.5f over %d / %d foreground voxels, %d windows", tc.ref, dice, a, b, res.Windows)
			if dice < 0.999 {
				t.Errorf("Dice %.5f < 0.999 against nnU-Net's predictor", dice)
			}
		})
	}
}

// What otoseg cannot run is refused with the reason.
func TestImportRefusesWhatCannotBeMapped(t *testing.T) {
	src := fixtures[0].dir
	plans, err := os.ReadFile(filepath.Join(src, "plans.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"residual encoder", "architectures.unet.PlainConvUNet", "architectures.unet.ResidualEncoderUNet", "residual-encoder"},
		{"other network", "architectures.unet.PlainConvUNet", "architectures.unet.Primus", "cannot be mapped"},
		{"2-D", "torch.nn.modules.conv.Conv3d", "torch.nn.modules.conv.Conv2d", "2-D"},
		{"MR normalisation", `"CTNormalization"`, `"ZScoreNormalization"`, "ZScoreNormalization"},
		{"batch norm", "instancenorm.InstanceNorm3d", "batchnorm.BatchNorm3d", "BatchNorm3d"},
		{"bad transpose", `"transpose_forward": [`, `"transpose_forward": [2, 2, 0], "x": [`, "permutation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(plans), tc.from) {
				t.Fatalf("fixture plans.json lacks %q", tc.from)
			}
			dir := filepath.Join(t.TempDir(), "nnUNetTrainer__nnUNetPlans__3d_fullres")
			copyTree(t, src, dir)
			bad := strings.Replace(string(plans), tc.from, tc.to, 1)
			if err := os.WriteFile(filepath.Join(dir, "plans.json"), []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "model")
			_, err := Import(dir, out, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "plans.json") {
				t.Errorf("error %v, want one naming plans.json and %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed import left an output folder")
			}
		})
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// transpose_forward: with a plan that transposes, a scan whose axes are
// permuted the other way reaches the network as the untransposed scan did,
// so its labels are the identity plan's, permuted back.
func TestTransposedPlan(t *testing.T) {
	scan, err := imageio.Read("testdata/scan.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	l := importFixture(t, fixtures[0].dir, []int{0})
	ref, err := l.Segment(context.Background(), scan, Options{NoMirror: true})
	if err != nil {
		t.Fatal(err)
	}
	// The iso plan's spacing and patch are the same in every order, so
	// only transpose_forward changes.
	tf := [3]int{2, 0, 1}
	l.Plan.Transpose = tf[:]
	var inv [3]int
	for i, v := range tf {
		inv[v] = i
	}
	// scan2 in z y x order is scan's array transposed by inv (so that
	// transposing it by tf gives scan's array back).
	zyx := [3]int{scan.Dims[2], scan.Dims[1], scan.Dims[0]}
	d2, dims2 := permute(scan.Data, zyx, inv)
	g := volume.NewGeometry([3]int{dims2[2], dims2[1], dims2[0]}, [3]float64{})
	sp := [3]float64{scan.Spacing[2], scan.Spacing[1], scan.Spacing[0]}
	g.Spacing = [3]float64{sp[inv[2]], sp[inv[1]], sp[inv[0]]}
	scan2 := &volume.Volume{Geometry: g, Data: d2, DType: scan.DType}
	got, err := l.Segment(context.Background(), scan2, Options{NoMirror: true})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := permute(ref.Labels.Data, zyx, inv)
	var agree, fg int
	for i, v := range got.Labels.Data {
		if v > 0 && v == want[i] {
			agree++
		}
		if v > 0 {
			fg++
		}
		if want[i] > 0 {
			fg++
		}
	}
	if fg < 200 || float64(2*agree)/float64(fg) < 0.999 {
		t.Errorf("transposed plan: %d of %d foreground labels agree", 2*agree, fg)
	}
}
