package imageio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio/internal/testtool"
	"github.com/otoseg/otoseg/imageio/metaimage"
	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

func rotation(ax [3]float64, deg float64) [3][3]float64 {
	n := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
	x, y, z := ax[0]/n, ax[1]/n, ax[2]/n
	c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
	return [3][3]float64{
		{c + x*x*(1-c), x*y*(1-c) - z*s, x*z*(1-c) + y*s},
		{y*x*(1-c) + z*s, c + y*y*(1-c), y*z*(1-c) - x*s},
		{z*x*(1-c) - y*s, z*y*(1-c) + x*s, c + z*z*(1-c)},
	}
}

// testGeometries: anisotropic, flipped, oblique, oblique left-handed.
func testGeometries() map[string]volume.Geometry {
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
	g.Direction = rotation([3]float64{1, 2, 3}, 17)
	g.Origin = [3]float64{12.3, -45.6, -78.9}
	out["oblique"] = g
	g = volume.NewGeometry(dims, [3]float64{0.25, 0.6, 1.1})
	r := rotation([3]float64{-2, 1, 0.5}, 33)
	for i := range 3 {
		r[i][1] = -r[i][1]
	}
	g.Direction = r
	g.Origin = [3]float64{-101.5, 7.25, 3}
	out["oblique_flip"] = g
	return out
}

var ranges = map[volume.DType][2]float64{
	volume.Uint8: {0, 255}, volume.Int16: {-32768, 32767}, volume.Uint16: {0, 65535},
	volume.Int32: {-(1 << 24), 1 << 24}, volume.Float32: {-3000.5, 3000.25}, volume.Float64: {-1e6, 1e6},
}

func sample(g volume.Geometry, dt volume.DType) *volume.Volume {
	v := volume.New(g, dt)
	lo, hi := ranges[dt][0], ranges[dt][1]
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

var dtypes = []volume.DType{volume.Uint8, volume.Int16, volume.Uint16, volume.Int32, volume.Float32, volume.Float64}

var writeExts = []string{".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd"}

// TestRoundTrip writes every datatype on every geometry in every format
// and reads it back: same grid (1e-5 mm), same datatype, same voxels.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for gname, g := range testGeometries() {
		for _, dt := range dtypes {
			for _, ext := range writeExts {
				v := sample(g, dt)
				p := filepath.Join(dir, fmt.Sprintf("%s_%v%s", gname, dt, ext))
				if err := Write(p, v); err != nil {
					t.Fatal(err)
				}
				w, err := Read(p)
				if err != nil {
					t.Fatal(err)
				}
				if !w.SameGrid(v.Geometry, 1e-5) {
					t.Errorf("%s: grid\n got %+v\nwant %+v", p, w.Geometry, v.Geometry)
				}
				if w.DType != dt {
					t.Errorf("%s: dtype %v, want %v", p, w.DType, dt)
				}
				for i := range v.Data {
					if w.Data[i] != v.Data[i] {
						t.Fatalf("%s: voxel %d = %v, want %v", p, i, w.Data[i], v.Data[i])
					}
				}
			}
		}
	}
}

// TestPlastimatchReadsOurs has plastimatch (ITK) convert what otoseg wrote
// in each format to NIfTI, then nibabel read that: the affine must be ours
// to 1e-5 mm and the voxels identical. This checks the NRRD and MetaImage
// writers against an independent reader.
func TestPlastimatchReadsOurs(t *testing.T) {
	dir := t.TempDir()
	type item struct {
		v        *volume.Volume
		src, nii string
	}
	var items []item
	write := map[string]func(string, *volume.Volume) error{
		".nrrd": Write, ".nhdr": Write, ".mha": Write, ".mhd": Write, ".nii.gz": Write,
		"_raw.nrrd": func(p string, v *volume.Volume) error {
			return nrrd.WriteWith(p, v, nrrd.WriteOptions{Encoding: "raw"})
		},
		"_z.mha": func(p string, v *volume.Volume) error {
			return metaimage.WriteWith(p, v, metaimage.WriteOptions{Compress: true})
		},
		"_z.mhd": func(p string, v *volume.Volume) error {
			return metaimage.WriteWith(p, v, metaimage.WriteOptions{Compress: true})
		},
	}
	n := 0
	for gname, g := range testGeometries() {
		for ext, fn := range write {
			// Alternate the datatype to keep the number of plastimatch runs down.
			n++
			for _, dt := range []volume.DType{[]volume.DType{volume.Int16, volume.Float32}[n%2]} {
				v := sample(g, dt)
				base := filepath.Join(dir, fmt.Sprintf("%s_%v%s", gname, dt, strings.ReplaceAll(ext, ".", "_")))
				src := base + ext
				if err := fn(src, v); err != nil {
					t.Fatal(err)
				}
				nii := base + "_pm.nii"
				testtool.Run(t, "plastimatch", "convert", "--input", src, "--output-img", nii)
				items = append(items, item{v, src, nii})
			}
		}
	}
	var niis []string
	for _, it := range items {
		niis = append(niis, it.nii)
	}
	for i, info := range testtool.NibLoad(t, niis...) {
		it := items[i]
		if d := testtool.AffineDiff(it.v.AffineRAS(), info.Affine); d > 1e-5 {
			t.Errorf("%s: plastimatch+nibabel affine differs by %g\n ours %v\n them %v", filepath.Base(it.src), d, it.v.AffineRAS(), info.Affine)
		}
		testtool.SameVoxels(t, filepath.Base(it.src), it.v, testtool.Data(t, info.Data))
	}
}

// TestReadsPlastimatchFiles has nibabel write NIfTI references, plastimatch
// convert them to NRRD and MetaImage, and otoseg read those: geometry must
// match nibabel's affine to 1e-5 mm and voxels exactly.
func TestReadsPlastimatchFiles(t *testing.T) {
	dir := t.TempDir()
	cases := testtool.NibMake(t, dir)
	n := 0
	for _, c := range cases {
		switch c.Note {
		case "nifti1 int16 oblique", "nifti1 float32 oblique_flip", "nifti1 uint8 flipped", "nifti1 uint16 aniso":
		default:
			continue
		}
		if !strings.HasSuffix(c.File, ".nii.gz") {
			continue
		}
		for _, ext := range []string{".nrrd", ".mha", ".mhd", ".nhdr"} {
			out := strings.TrimSuffix(c.File, ".nii.gz") + "_pm" + ext
			testtool.Run(t, "plastimatch", "convert", "--input", c.File, "--output-img", out)
			v, err := Read(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := testtool.AffineDiff(v.AffineRAS(), c.Affine); d > 1e-5 {
				t.Errorf("%s: affine differs from nibabel's by %g\n got %v\nwant %v", filepath.Base(out), d, v.AffineRAS(), c.Affine)
			}
			testtool.SameVoxels(t, filepath.Base(out), v, testtool.Data(t, c.Data))
			n++
		}
	}
	if n != 16 {
		t.Fatalf("checked %d conversions, want 16", n)
	}
}

func TestFormatOf(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		path string
		want Format
	}{
		{"a.nii", NIfTI}, {"A.NII.GZ", NIfTI}, {"a.hdr", NIfTI}, {"a.nrrd", NRRD}, {"a.seg.nrrd", NRRD},
		{"a.nhdr", NRRD}, {"a.mha", MetaImage}, {"a.MHD", MetaImage}, {"a.zip", DICOM}, {dir, DICOM},
		{"a.png", Unknown}, {"a.nii.bak", Unknown}, {"a", Unknown},
	} {
		if got := FormatOf(c.path); got != c.want {
			t.Errorf("FormatOf(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestTrimExtension(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"c001_B.nii.gz", "c001_B"}, {"c001_B.NII.GZ", "c001_B"}, {"ear.seg.nrrd", "ear"},
		{"ear.nrrd", "ear"}, {"scan.mha", "scan"}, {"scan.hdr.gz", "scan"}, {"series.zip", "series"},
		{"dicomdir", "dicomdir"}, {"notes.txt", "notes.txt"}, {"a.nii.bak", "a.nii.bak"}, {".nii", ""},
	} {
		if got := TrimExtension(c.in); got != c.want {
			t.Errorf("TrimExtension(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWriteRefusals: unknown extensions and invalid volumes are errors that
// name the file, and leave no file (or temporary file) behind.
func TestWriteRefusals(t *testing.T) {
	dir := t.TempDir()
	good := sample(testGeometries()["aniso"], volume.Int16)
	short := *good
	short.Data = short.Data[:10]
	badGeo := sample(testGeometries()["aniso"], volume.Int16)
	badGeo.Spacing[1] = 0
	for _, c := range []struct {
		name string
		v    *volume.Volume
		want string
	}{
		{"x.png", good, "cannot write"},
		{"x.hdr", good, "not supported"},
		{"x.nii", &short, "does not match"},
		{"x.nrrd", badGeo, "spacing"},
		{"x.mha", nil, "nil volume"},
		{"missing/dir/x.nii.gz", good, "no such file"},
	} {
		p := filepath.Join(dir, c.name)
		err := Write(p, c.v)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(%s) = %v, want an error naming the file and saying %q", c.name, err, c.want)
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("refused writes left files: %v", left)
	}
}

// TestWriteFailureKeepsOldFile: a write that fails midway leaves the
// previous file intact.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keep.nii.gz")
	v := sample(testGeometries()["aniso"], volume.Int16)
	if err := Write(p, v); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	bad := *v
	bad.Data = bad.Data[:3]
	if err := Write(p, &bad); err == nil {
		t.Fatal("no error")
	}
	after, _ := os.ReadFile(p)
	if string(before) != string(after) {
		t.Error("failed write changed the existing file")
	}
}

// TestDICOMDispatch: directories and .zip go to the DICOM reader; an empty
// directory is an error naming it.
func TestDICOMDispatch(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Read(empty dir) = %v, want an error naming it", err)
	}
}

func TestReadUnknown(t *testing.T) {
	_, err := Read("x.png")
	if err == nil || !strings.Contains(err.Error(), "x.png") || !strings.Contains(err.Error(), "unknown image format") {
		t.Errorf("err = %v", err)
	}
	_, err = Read(filepath.Join(t.TempDir(), "missing.nii.gz"))
	if err == nil || !strings.Contains(err.Error(), "missing.nii.gz") {
		t.Errorf("err = %v", err)
	}
}

// TestSegNRRD: Write to .seg.nrrd makes a Slicer segmentation named after
// otoseg's labels, plastimatch (ITK) reads it as the same label map, and a
// volume that is not a label map is refused without leaving a file.
func TestSegNRRD(t *testing.T) {
	dir := t.TempDir()
	v := volume.New(testGeometries()["oblique_flip"], volume.Int16)
	for i := range v.Data {
		v.Data[i] = float32([]int{0, 1, 2, 3, 0, 7}[i%6])
	}
	p := filepath.Join(dir, "ear.seg.nrrd")
	if err := Write(p, v); err != nil {
		t.Fatal(err)
	}
	segs, err := nrrd.ReadSegments(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range segs {
		names = append(names, fmt.Sprintf("%d:%s", s.LabelValue, s.Name))
	}
	if got := strings.Join(names, ","); got != "1:cochlea,2:vestibule,3:semicircular canals,7:label 7" {
		t.Errorf("segments %s", got)
	}
	w, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if w.DType != volume.Uint8 || !w.SameGrid(v.Geometry, 1e-9) {
		t.Errorf("read back %v %+v", w.DType, w.Geometry)
	}
	nii := filepath.Join(dir, "ear_pm.nii")
	testtool.Run(t, "plastimatch", "convert", "--input", p, "--output-img", nii)
	info := testtool.NibLoad(t, nii)[0]
	if d := testtool.AffineDiff(v.AffineRAS(), info.Affine); d > 1e-5 {
		t.Errorf("plastimatch sees an affine %g mm off", d)
	}
	testtool.SameVoxels(t, "ear.seg.nrrd", v, testtool.Data(t, info.Data))

	ct := sample(testGeometries()["aniso"], volume.Float32)
	q := filepath.Join(dir, "ct.seg.nrrd")
	if err := Write(q, ct); err == nil || !strings.Contains(err.Error(), "labels 0..255") {
		t.Errorf("writing a CT as .seg.nrrd: err = %v", err)
	}
	if _, err := os.Stat(q); err == nil {
		t.Error("refused .seg.nrrd left a file")
	}
}
