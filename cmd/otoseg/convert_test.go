package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/internal/pyref"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// nibCheckScript has nibabel load A and B and fail unless their affines
// agree to 1e-5 mm and their voxels are identical.
const nibCheckScript = `
import sys, nibabel as nib, numpy as np
a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
d = np.abs(a.affine - b.affine).max()
assert d < 1e-5, f"affines differ by {d}:\n{a.affine}\n{b.affine}"
assert a.shape == b.shape, (a.shape, b.shape)
assert a.get_data_dtype() == b.get_data_dtype(), (a.get_data_dtype(), b.get_data_dtype())
assert np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)), "voxels differ"
`

// TestConvertChainMatchesNibabel converts a nibabel-written oblique CT
// through every format and back to NIfTI; nibabel must see the same image.
func TestConvertChainMatchesNibabel(t *testing.T) {
	dir := t.TempDir()
	pyref.Run(t, "-c", nibInfoScript, dir)
	src := filepath.Join(dir, "ct.nii.gz")
	prev := src
	for i, ext := range []string{".nrrd", ".mha", ".nhdr", ".mhd", ".nii", ".nii.gz"} {
		out := filepath.Join(dir, "chain"+string(rune('a'+i))+ext)
		var log bytes.Buffer
		if err := runConvert(&log, prev, out, convertOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "wrote "+out) {
			t.Errorf("log %q does not say what was written", log.String())
		}
		prev = out
	}
	pyref.Run(t, "-c", nibCheckScript, src, prev)

	// A label map through a Slicer segmentation and back.
	lab := filepath.Join(dir, "lab.nrrd")
	seg := filepath.Join(dir, "lab.seg.nrrd")
	back := filepath.Join(dir, "lab.nii.gz")
	for _, c := range [][2]string{{lab, seg}, {seg, back}} {
		if err := runConvert(&bytes.Buffer{}, c[0], c[1], convertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var infoOut bytes.Buffer
	if err := runInfo(&infoOut, seg, infoOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(infoOut.String(), "segments     1 cochlea (cochlea)") {
		t.Errorf("info of a .seg.nrrd does not list its segments:\n%s", infoOut.String())
	}
	a, _ := imageio.Read(lab)
	b, err := imageio.Read(back)
	if err != nil {
		t.Fatal(err)
	}
	if !a.SameGrid(b.Geometry, 1e-5) || b.DType != volume.Uint8 {
		t.Errorf("label map changed grid or type: %+v %v", b.Geometry, b.DType)
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("label voxel %d: %v became %v", i, a.Data[i], b.Data[i])
		}
	}
}

// TestConvertResample: --spacing gives the grid volume.ResampledGeometry
// defines; label maps default to nearest (labels stay labels), float images
// to linear; --interp overrides.
func TestConvertResample(t *testing.T) {
	dir := t.TempDir()
	pyref.Run(t, "-c", nibInfoScript, dir)
	lab := filepath.Join(dir, "lab.nrrd")
	in, err := imageio.Read(lab)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lab_r.nii.gz")
	if err := runConvert(&bytes.Buffer{}, lab, out, convertOptions{Spacing: "0.2,0.25,0.5"}); err != nil {
		t.Fatal(err)
	}
	got, err := imageio.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	wantGeo, _ := volume.ResampledGeometry(in.Geometry, [3]float64{0.2, 0.25, 0.5})
	if !got.SameGrid(wantGeo, 1e-4) || got.DType != volume.Uint8 {
		t.Errorf("resampled grid %+v %v, want %+v uint8", got.Geometry, got.DType, wantGeo)
	}
	ref, err := volume.Resample(in, [3]float64{0.2, 0.25, 0.5}, volume.Nearest)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref.Data {
		if got.Data[i] != ref.Data[i] {
			t.Fatalf("voxel %d = %v, nearest-neighbour reference %v", i, got.Data[i], ref.Data[i])
		}
	}
	// Float image: linear by default, bspline on request, isotropic form.
	f := filepath.Join(dir, "f.nii")
	fin, _ := imageio.Read(f)
	for _, c := range []struct {
		interp string
		want   volume.Interp
	}{{"", volume.Linear}, {"bspline", volume.BSpline}, {"nearest", volume.Nearest}} {
		o := filepath.Join(dir, "f_"+c.interp+".mha")
		var log bytes.Buffer
		if err := runConvert(&log, f, o, convertOptions{Spacing: "0.5", Interp: c.interp}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "("+c.want.String()+")") {
			t.Errorf("--interp %q: log %q does not name %v", c.interp, log.String(), c.want)
		}
		g, _ := imageio.Read(o)
		r, _ := volume.Resample(fin, [3]float64{0.5, 0.5, 0.5}, c.want)
		for i := range r.Data {
			if math.Abs(float64(g.Data[i]-r.Data[i])) > 0 {
				t.Fatalf("--interp %q voxel %d = %v, want %v", c.interp, i, g.Data[i], r.Data[i])
			}
		}
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	pyref.Run(t, "-c", nibInfoScript, dir)
	src := filepath.Join(dir, "ct.nii.gz")
	for _, c := range []struct {
		out  string
		opts convertOptions
		want string
	}{
		{"x.png", convertOptions{}, "cannot write"},
		{"x.nii", convertOptions{Spacing: "1,2"}, "--spacing"},
		{"x.nii", convertOptions{Spacing: "0,1,1"}, "--spacing"},
		{"x.nii", convertOptions{Spacing: "1", Interp: "cubic"}, "--interp"},
		{"x.nii", convertOptions{Interp: "linear"}, "without --spacing"},
		{"x.nii", convertOptions{PickVolume: true, Volume: 3}, "volume 3"},
	} {
		out := filepath.Join(dir, c.out)
		err := runConvert(&bytes.Buffer{}, src, out, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("convert %+v: err = %v, want %q", c.opts, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("convert %+v left %s behind", c.opts, out)
		}
	}
}
