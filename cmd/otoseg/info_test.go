package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/pyref"
	"github.com/otoseg/otoseg/volume"
)

// nibInfoScript writes the test images with nibabel (and one NRRD by hand,
// as pynrrd lays it out) and prints what nibabel says info should report.
const nibInfoScript = `
import json, sys
import nibabel as nib, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
def rot(ax, deg):
    ax = np.asarray(ax, float) / np.linalg.norm(ax); t = np.deg2rad(deg)
    k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k
out = {}
def expect(name, img):
    a = img.affine
    zooms = np.sqrt((a[:3, :3] ** 2).sum(axis=0))
    data = np.asanyarray(img.dataobj).astype(np.float64)
    out[name] = {"dims": list(img.shape[:3]), "spacing": zooms.tolist(), "origin": a[:3, 3].tolist(),
                 "direction": (a[:3, :3] / zooms).tolist(), "min": float(data.min()), "max": float(data.max()),
                 "mean": float(data.mean()), "orientation": "".join(nib.aff2axcodes(a))}
a = np.eye(4); a[:3, :3] = rot([1, -2, 0.5], 23) @ np.diag([1, -1, 1]) @ np.diag([0.4, 0.45, 1.3]); a[:3, 3] = [-31.5, 12.25, 80.0]
img = nib.Nifti1Image(rng.integers(-1024, 3000, size=(9, 8, 7)).astype(np.int16), a)
img.to_filename(d + "/ct.nii.gz"); expect("ct.nii.gz", nib.load(d + "/ct.nii.gz"))
img = nib.Nifti1Image(rng.standard_normal((5, 6, 4)).astype(np.float32), np.diag([-0.7, 0.7, 2.0, 1.0]))
img.to_filename(d + "/f.nii"); expect("f.nii", nib.load(d + "/f.nii"))
# A NRRD laid out as pynrrd writes it, in RAS space: the same data and affine.
lab = rng.integers(0, 4, size=(6, 5, 4)).astype(np.uint8)
b = np.eye(4); b[:3, :3] = rot([0, 0, 1], 30) @ np.diag([0.3, 0.3, 0.6]); b[:3, 3] = [10.0, -20.0, 5.5]
vec = lambda v: "(" + ",".join(repr(float(x)) for x in v) + ")"
hdr = ("NRRD0005\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n"
       "type: uint8\ndimension: 3\nspace: right-anterior-superior\nsizes: 6 5 4\n"
       "space directions: " + " ".join(vec(b[:3, i]) for i in range(3)) + "\n"
       "kinds: domain domain domain\nencoding: raw\nspace origin: " + vec(b[:3, 3]) + "\n\n")
open(d + "/lab.nrrd", "wb").write(hdr.encode() + lab.tobytes(order="F"))
expect("lab.nrrd", nib.Nifti1Image(lab, b))
json.dump(out, open(d + "/expect.json", "w"))
`

// TestInfoMatchesNibabel compares info --json with nibabel on an oblique
// flipped CT, a float image and a hand-written RAS NRRD label map.
func TestInfoMatchesNibabel(t *testing.T) {
	dir := t.TempDir()
	pyref.Run(t, "-c", nibInfoScript, dir)
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Dims        [3]int
		Spacing     [3]float64
		Origin      [3]float64
		Direction   [3][3]float64
		Min         float64
		Max         float64
		Mean        float64
		Orientation string
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 {
		t.Fatalf("script described %d images, want 3", len(want))
	}
	for name, w := range want {
		var buf bytes.Buffer
		if err := runInfo(&buf, filepath.Join(dir, name), infoOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		// Decode generically: the key names are the interface.
		var raw map[string]any
		if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"dims", "spacing", "origin", "direction", "min", "max", "mean"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s: key %q missing from info --json", name, k)
			}
		}
		var got imageInfo
		json.Unmarshal(buf.Bytes(), &got)
		near := func(what string, a, b, tol float64) {
			if math.Abs(a-b) > tol {
				t.Errorf("%s: %s = %v, nibabel %v", name, what, a, b)
			}
		}
		if got.Dims != w.Dims {
			t.Errorf("%s: dims %v, nibabel %v", name, got.Dims, w.Dims)
		}
		for i := range 3 {
			near("spacing", got.Spacing[i], w.Spacing[i], 1e-6)
			near("origin", got.Origin[i], w.Origin[i], 1e-5)
			for j := range 3 {
				near("direction", got.Direction[i][j], w.Direction[i][j], 1e-6)
			}
		}
		near("min", *got.Min, w.Min, 0)
		near("max", *got.Max, w.Max, 0)
		near("mean", *got.Mean, w.Mean, 1e-6*math.Max(1, math.Abs(w.Mean)))
		if got.Orientation != w.Orientation {
			t.Errorf("%s: orientation %s, nibabel %s", name, got.Orientation, w.Orientation)
		}
	}
}

func TestInfoText(t *testing.T) {
	dir := t.TempDir()
	pyref.Run(t, "-c", nibInfoScript, dir)
	var buf bytes.Buffer
	if err := runInfo(&buf, filepath.Join(dir, "ct.nii.gz"), infoOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dims         9 x 8 x 7", "dtype        int16", "orientation  ", "RAS mm", "min/max/mean"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestInfoErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.nii.gz")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	for _, p := range []string{bad, filepath.Join(dir, "missing.nrrd"), filepath.Join(dir, "x.png")} {
		var buf bytes.Buffer
		err := runInfo(&buf, p, infoOptions{JSON: true})
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("info %s: err = %v, want an error naming the file", p, err)
		}
		if buf.Len() != 0 {
			t.Errorf("info %s printed %q on error", p, buf.String())
		}
	}
}

// NaN and ±Inf voxels are counted and left out of min/max/mean: info
// describes such a scan instead of failing to encode +Inf as JSON.
func TestInfoNonFinite(t *testing.T) {
	dir := t.TempDir()
	v := volume.New(volume.NewGeometry([3]int{4, 3, 2}, [3]float64{1, 1, 1}), volume.Float32)
	for i := range v.Data {
		v.Data[i] = float32(i)
	}
	v.Data[0], v.Data[1], v.Data[2] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	p := filepath.Join(dir, "nan.nii")
	if err := imageio.Write(p, v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := runInfo(&buf, p, infoOptions{JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got imageInfo
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.NaNVoxels != 1 || got.InfVoxels != 2 || got.Min == nil || *got.Min != 3 || *got.Max != 23 {
		t.Errorf("nan %d inf %d min %v max %v, want 1, 2, 3, 23", got.NaNVoxels, got.InfVoxels, got.Min, got.Max)
	}
	buf.Reset()
	if err := runInfo(&buf, p, infoOptions{}); err != nil || !strings.Contains(buf.String(), "Inf voxels   2") {
		t.Errorf("text: %v\n%s", err, buf.String())
	}
}

// A header claiming 1536 x 1536 x 900 voxels is refused from the header.
func TestInfoMemoryCeiling(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.mha")
	if err := os.WriteFile(p, []byte("ObjectType = Image\nNDims = 3\nDimSize = 1536 1536 900\nElementType = MET_SHORT\nElementSpacing = 1 1 1\nElementDataFile = LOCAL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runInfo(io.Discard, p, infoOptions{}); !errors.Is(err, imageio.ErrTooLarge) {
		t.Errorf("info of a 1536x1536x900 header: %v, want ErrTooLarge", err)
	}
}
