package nifti

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio/internal/testtool"
	"github.com/otoseg/otoseg/volume"
)

// TestReadsNibabelFiles reads every reference case nibabel writes (each
// datatype, oblique/flipped/anisotropic affines, qform-only, sform over
// qform, no codes, scaling, NIfTI-2, big-endian, 4-D, 2-D) and requires
// nibabel's affine to 1e-5 mm, its axcodes, and its voxels exactly.
func TestReadsNibabelFiles(t *testing.T) {
	dir := t.TempDir()
	cases := testtool.NibMake(t, dir)
	if len(cases) < 60 {
		t.Fatalf("nib.py made only %d cases", len(cases))
	}
	for _, c := range cases {
		name := filepath.Base(c.File)
		t.Run(name, func(t *testing.T) {
			opt := Options{}
			if c.Volume >= 0 {
				opt = Options{PickVolume: true, Volume: c.Volume}
				if _, err := Read(c.File, Options{}); err == nil || !strings.Contains(err.Error(), "4-D") {
					t.Errorf("4-D file without --volume: err = %v, want a 4-D error", err)
				}
			}
			v, err := Read(c.File, opt)
			if err != nil {
				t.Fatal(err)
			}
			if d := testtool.AffineDiff(v.AffineRAS(), c.Affine); d > 1e-5 {
				t.Errorf("affine differs by %g mm\n got %v\nwant %v", d, v.AffineRAS(), c.Affine)
			}
			if got := v.AxCodes(); got != c.Axcode {
				t.Errorf("axcodes %s, nibabel %s", got, c.Axcode)
			}
			for a, n := range c.Shape[:min(3, len(c.Shape))] {
				if v.Dims[a] != n {
					t.Errorf("dims %v, nibabel shape %v", v.Dims, c.Shape)
				}
			}
			testtool.SameVoxels(t, name, v, testtool.Data(t, c.Data))
		})
	}
}

// geometries are the affines the write tests use: anisotropic, flipped,
// oblique and oblique with a flip (left-handed, qfac = -1).
func geometries() map[string]volume.Geometry {
	rot := func(ax [3]float64, deg float64) [3][3]float64 {
		n := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
		x, y, z := ax[0]/n, ax[1]/n, ax[2]/n
		c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
		return [3][3]float64{
			{c + x*x*(1-c), x*y*(1-c) - z*s, x*z*(1-c) + y*s},
			{y*x*(1-c) + z*s, c + y*y*(1-c), y*z*(1-c) - x*s},
			{z*x*(1-c) - y*s, z*y*(1-c) + x*s, c + z*z*(1-c)},
		}
	}
	dims := [3]int{6, 5, 4}
	out := map[string]volume.Geometry{}
	g := volume.NewGeometry(dims, [3]float64{0.3, 0.45, 1.25})
	g.Origin = [3]float64{40.2, -13.7, 88.1}
	out["aniso"] = g
	g = volume.NewGeometry(dims, [3]float64{0.5, 0.5, 2})
	g.Direction = [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, -1}}
	g.Origin = [3]float64{-60, 80.5, 31}
	out["flipped"] = g
	g = volume.NewGeometry(dims, [3]float64{0.4, 0.4, 0.8})
	g.Direction = rot([3]float64{1, 2, 3}, 17)
	g.Origin = [3]float64{12.3, -45.6, -78.9}
	out["oblique"] = g
	g = volume.NewGeometry(dims, [3]float64{0.25, 0.6, 1.1})
	r := rot([3]float64{-2, 1, 0.5}, 33)
	for i := range 3 {
		r[i][1] = -r[i][1]
	}
	g.Direction = r
	g.Origin = [3]float64{-101.5, 7.25, 3}
	out["oblique_flip"] = g
	return out
}

// sampleVolume fills a volume with values spanning dt's range.
func sampleVolume(g volume.Geometry, dt volume.DType) *volume.Volume {
	v := volume.New(g, dt)
	lo, hi := map[volume.DType][2]float64{
		volume.Uint8: {0, 255}, volume.Int16: {-32768, 32767}, volume.Uint16: {0, 65535},
		volume.Int32: {-(1 << 24), 1 << 24}, volume.Float32: {-3000.5, 3000.25}, volume.Float64: {-1e6, 1e6},
	}[dt][0], map[volume.DType][2]float64{
		volume.Uint8: {0, 255}, volume.Int16: {-32768, 32767}, volume.Uint16: {0, 65535},
		volume.Int32: {-(1 << 24), 1 << 24}, volume.Float32: {-3000.5, 3000.25}, volume.Float64: {-1e6, 1e6},
	}[dt][1]
	n := len(v.Data)
	for i := range v.Data {
		x := lo + (hi-lo)*float64((i*7919)%n)/float64(n-1)
		if dt != volume.Float32 && dt != volume.Float64 {
			x = math.Round(x)
		}
		v.Data[i] = float32(x)
	}
	v.Data[0], v.Data[n-1] = float32(lo), float32(hi)
	return v
}

var allDTypes = []volume.DType{volume.Uint8, volume.Int16, volume.Uint16, volume.Int32, volume.Float32, volume.Float64}

// TestNibabelReadsOtoseg writes every datatype on every geometry, .nii and
// .nii.gz, and requires nibabel to read back the same affine (1e-5 mm), the
// same datatype and exactly the same voxels.
func TestNibabelReadsOtoseg(t *testing.T) {
	dir := t.TempDir()
	type item struct {
		v    *volume.Volume
		file string
	}
	var items []item
	for gname, g := range geometries() {
		for _, dt := range allDTypes {
			for _, ext := range []string{".nii", ".nii.gz"} {
				v := sampleVolume(g, dt)
				p := filepath.Join(dir, fmt.Sprintf("%s_%v%s", gname, dt, ext))
				if err := Write(p, v); err != nil {
					t.Fatal(err)
				}
				items = append(items, item{v, p})
			}
		}
	}
	v2 := sampleVolume(geometries()["oblique_flip"], volume.Int16)
	p2 := filepath.Join(dir, "v2.nii.gz")
	if err := WriteWith(p2, v2, WriteOptions{Version: 2}); err != nil {
		t.Fatal(err)
	}
	items = append(items, item{v2, p2})
	files := make([]string, len(items))
	for i, it := range items {
		files[i] = it.file
	}
	infos := testtool.NibLoad(t, files...)
	for i, info := range infos {
		it := items[i]
		name := filepath.Base(it.file)
		if d := testtool.AffineDiff(it.v.AffineRAS(), info.Affine); d > 1e-5 {
			t.Errorf("%s: nibabel's affine differs by %g mm\n ours %v\n nib  %v", name, d, it.v.AffineRAS(), info.Affine)
		}
		if info.DType != it.v.DType.String() {
			t.Errorf("%s: nibabel sees dtype %s, want %s", name, info.DType, it.v.DType)
		}
		if info.Axcode != it.v.AxCodes() {
			t.Errorf("%s: nibabel axcodes %s, ours %s", name, info.Axcode, it.v.AxCodes())
		}
		testtool.SameVoxels(t, name, it.v, testtool.Data(t, info.Data))
	}
}

// TestQformMatchesSform checks the quaternion writer on its own: the qform
// we write must give the sform's affine, including left-handed axes.
func TestQformMatchesSform(t *testing.T) {
	for name, g := range geometries() {
		h, err := headerFor(volume.New(g, volume.Int16), 0)
		if err != nil {
			t.Fatal(err)
		}
		// Store and reload through float32, as the file does.
		h2, err := parseHeader(h.marshal())
		if err != nil {
			t.Fatal(err)
		}
		q, err := h2.QformAffine()
		if err != nil {
			t.Fatal(err)
		}
		if d := testtool.AffineDiff(q, h2.SformAffine()); d > 1e-5 {
			t.Errorf("%s: qform and sform differ by %g", name, d)
		}
	}
}
