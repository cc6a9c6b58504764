package segment

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/volume"
)

var (
	headOnce sync.Once
	headImg  *volume.Volume
	headErr  error
)

// headCT is a centre-A phantom with both ears in view, made once per test
// binary; callers get their own copy.
func headCT(t *testing.T) *volume.Volume {
	t.Helper()
	headOnce.Do(func() {
		c, err := phantom.CentreByName("A")
		if err != nil {
			headErr = err
			return
		}
		headImg, _, _, headErr = phantom.Generate(phantom.Config{Centre: c, Seed: 77014})
	})
	if headErr != nil {
		t.Fatal(headErr)
	}
	cp := *headImg
	cp.Data = append([]float32(nil), headImg.Data...)
	return &cp
}

// mapped is v with f applied to every voxel.
func mapped(v *volume.Volume, f func(float32) float32) *volume.Volume {
	for i, x := range v.Data {
		v.Data[i] = f(x)
	}
	return v
}

// slab is the first n slices of v.
func slab(t *testing.T, v *volume.Volume, n int) *volume.Volume {
	t.Helper()
	s, err := volume.Crop(v, [3]int{0, 0, 0}, [3]int{v.Dims[0], v.Dims[1], n})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nanEdges sets the first and last few slices of v to NaN and +Inf.
func nanEdges(v *volume.Volume, n int) int {
	plane := v.Dims[0] * v.Dims[1]
	for i := range n * plane {
		v.Data[i] = float32(math.NaN())
	}
	v.Data[len(v.Data)-1] = float32(math.Inf(1))
	return n*plane + 1
}

// The input check tells every kind of bad input apart, names what it
// found, and passes a CT in HU (with NaN edges, or with a +1024 offset
// when asked to correct it).
func TestCheckInput(t *testing.T) {
	tests := []struct {
		name    string
		img     func() *volume.Volume
		opt     Options
		want    error // nil: passes
		mention []string
		nonFin  int
		offset  float64
	}{
		{name: "CT in HU", img: func() *volume.Volume { return headCT(t) }},
		{name: "a single slice", img: func() *volume.Volume { return slab(t, headCT(t), 1) }, want: ErrNotVolume, mention: []string{"433 x 267 x 1", "at least 8"}},
		{name: "three slices", img: func() *volume.Volume { return slab(t, headCT(t), 3) }, want: ErrNotVolume, mention: []string{"x 3 voxels"}},
		{name: "+1024 offset", img: func() *volume.Volume { return mapped(headCT(t), func(x float32) float32 { return max(x+1024, 0) }) },
			want: ErrNotCT, mention: []string{"+1024 offset", "0.5th percentile", "99.9th percentile", "AssumeOffset"}},
		{name: "+1024 offset, AssumeOffset", img: func() *volume.Volume { return mapped(headCT(t), func(x float32) float32 { return max(x+1024, 0) }) },
			opt: Options{AssumeOffset: true}, offset: 1024},
		{name: "MR-like", img: func() *volume.Volume {
			return mapped(headCT(t), func(x float32) float32 {
				switch {
				case x < -500:
					return 3 // background
				case x > 500:
					return 60 // cortical bone is dark in MR
				}
				return 700 + x
			})
		}, want: ErrNotCT, mention: []string{"no negative values", "MR"}},
		{name: "rescale slope 0.5", img: func() *volume.Volume { return mapped(headCT(t), func(x float32) float32 { return x / 2 }) },
			want: ErrNotCT, mention: []string{"no air near -1000", "rescale"}},
		{name: "air only", img: func() *volume.Volume { return mapped(headCT(t), func(float32) float32 { return -1000 }) },
			want: ErrNoEar, mention: []string{"no bone above +700"}},
		{name: "all NaN", img: func() *volume.Volume { return mapped(headCT(t), func(float32) float32 { return float32(math.NaN()) }) },
			want: ErrNotCT, mention: []string{"NaN"}, nonFin: 433 * 267 * 60},
		{name: "NaN and Inf edges", img: func() *volume.Volume { v := headCT(t); nanEdges(v, 5); return v }, nonFin: 5*433*267 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := CheckInput(tc.img(), tc.opt)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want != ErrNoEar && errors.Is(err, ErrNoEar) || tc.want != ErrNotCT && errors.Is(err, ErrNotCT) {
				t.Errorf("error %v is also another kind", err)
			}
			for _, w := range tc.mention {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if c.NonFiniteVoxels != tc.nonFin || c.OffsetCorrectedHU != tc.offset {
				t.Errorf("found %d non-finite voxels and offset %g, want %d and %g", c.NonFiniteVoxels, c.OffsetCorrectedHU, tc.nonFin, tc.offset)
			}
		})
	}
}

// What the built-in model answers for NaN edges, an offset it may correct,
// an impossible threshold, and ears without a labyrinth.
func TestSegmentInputAnswers(t *testing.T) {
	m := baseline(t)
	ctx := context.Background()
	t.Run("NaN in 5 edge slices", func(t *testing.T) {
		img := headCT(t)
		n := nanEdges(img, 5)
		res, err := m.Segment(ctx, img, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Ears) != 2 || res.Input.NonFiniteVoxels != n {
			t.Errorf("%d ears, %d non-finite voxels counted; want 2 and %d", len(res.Ears), res.Input.NonFiniteVoxels, n)
		}
		if !math.IsNaN(float64(img.Data[0])) {
			t.Error("Segment changed its input")
		}
	})
	t.Run("+1024 offset", func(t *testing.T) {
		img := mapped(headCT(t), func(x float32) float32 { return max(x+1024, 0) })
		if _, err := m.Segment(ctx, img, DefaultOptions()); !errors.Is(err, ErrNotCT) {
			t.Fatalf("without AssumeOffset: %v, want ErrNotCT", err)
		}
		o := DefaultOptions()
		o.AssumeOffset = true
		res, err := m.Segment(ctx, img, o)
		if err != nil || len(res.Ears) != 2 || res.Input.OffsetCorrectedHU != 1024 {
			t.Fatalf("with AssumeOffset: %v", err)
		}
	})
	for _, tau := range []float64{5, -0.1, math.NaN()} {
		o := DefaultOptions()
		o.ForegroundThreshold = tau
		if _, err := m.Segment(ctx, headCT(t), o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("threshold %g: %v, want ErrInvalidOption", tau, err)
		}
	}
	t.Run("ears without labyrinth", func(t *testing.T) {
		o := DefaultOptions()
		o.MinEarVolumeMM3 = 1e9 // no labyrinth is this large
		_, err := m.Segment(ctx, headCT(t), o)
		if !errors.Is(err, ErrNoLabyrinth) || !errors.Is(err, ErrNoEar) {
			t.Fatalf("%v, want ErrNoLabyrinth (an ErrNoEar)", err)
		}
		if errors.Is(ErrNoEar, ErrNoLabyrinth) {
			t.Error("ErrNoEar matches ErrNoLabyrinth: the ear search's answer is not told apart")
		}
	})
}

// SegmentFile sizes the work from the header and refuses it above the
// ceiling before reading; it records the input check in the report.
func TestSegmentFileInput(t *testing.T) {
	m := baseline(t)
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.mha")
	if err := os.WriteFile(huge, []byte("ObjectType = Image\nNDims = 3\nDimSize = 1536 1536 900\nElementType = MET_SHORT\nElementSpacing = 1 1 1\nElementDataFile = LOCAL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := headCT(t)
	n := nanEdges(img, 5)
	img.DType = volume.Float32
	small := filepath.Join(dir, "nan.nii")
	if err := imageio.Write(small, img); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := m.SegmentFile(context.Background(), huge, filepath.Join(dir, "x.nii.gz"), FileOptions{Options: DefaultOptions()})
	if !errors.Is(err, imageio.ErrTooLarge) || !strings.Contains(err.Error(), "segmenting 1536x1536x900") || time.Since(t0) > 2*time.Second {
		t.Errorf("1536x1536x900 header: %v after %v, want a quick ErrTooLarge", err, time.Since(t0))
	}
	_, err = m.SegmentFile(context.Background(), small, filepath.Join(dir, "x.nii.gz"), FileOptions{Options: DefaultOptions(), MaxBytes: EstimateBytes(img.Geometry) - 1})
	if !errors.Is(err, imageio.ErrTooLarge) {
		t.Errorf("1 byte under the estimate: %v, want ErrTooLarge", err)
	}
	rep, err := m.SegmentFile(context.Background(), small, filepath.Join(dir, "labels.nii.gz"), FileOptions{Options: DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ears) != 2 || rep.Check == nil || rep.Check.NonFiniteVoxels != n || rep.Series != nil {
		t.Errorf("report: %d ears, check %+v, series %v; want 2 ears, %d non-finite voxels, no series", len(rep.Ears), rep.Check, rep.Series, n)
	}
}

// A DICOM study holding one head CT reconstructed in a bone kernel and, one
// slice longer, in a soft kernel, plus a scout: SegmentFile segments the
// bone series and the report says which series it was and why.
func TestSegmentFileChoosesBoneSeries(t *testing.T) {
	dir := t.TempDir()
	nii := filepath.Join(dir, "head.nii")
	if err := imageio.Write(nii, headCT(t)); err != nil {
		t.Fatal(err)
	}
	study := filepath.Join(dir, "study")
	if out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "to_dicom.py"), nii, study).CombinedOutput(); err != nil {
		t.Fatalf("to_dicom.py (needs python3-pydicom, python3-nibabel): %v\n%s", err, out)
	}
	rep, err := baseline(t).SegmentFile(context.Background(), study, filepath.Join(dir, "labels.nii.gz"), FileOptions{Options: DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Series
	if s == nil || s.Number != 3 || s.Kernel != "H70h" || s.Description != "Head 0.6 H70h" || s.UID == "" {
		t.Fatalf("segmented series %+v, want #3, the bone kernel", s)
	}
	if !strings.Contains(s.Reason, `#2 "Head 0.6 H30s" (soft kernel H30s)`) || len(rep.Ears) != 2 {
		t.Errorf("reason %q, %d ears", s.Reason, len(rep.Ears))
	}
}

// SegmentFileLoading reads the scan while the model loads and writes what
// SegmentFile writes; a model that fails to load fails the segmentation
// with the loader's error.
func TestSegmentFileLoading(t *testing.T) {
	m := baseline(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "head.nii.gz")
	if err := imageio.Write(in, headCT(t)); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "want.nii.gz")
	if _, err := m.SegmentFile(context.Background(), in, want, FileOptions{Options: DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	l := LoadAsync(func() (*Model, error) {
		<-release // still loading when reading starts
		return m, nil
	})
	got := filepath.Join(dir, "got.nii.gz")
	o := FileOptions{Options: DefaultOptions(), Stage: func(name string) {
		if name == "segmenting" {
			close(release)
		}
	}}
	rep, err := SegmentFileLoading(context.Background(), l, in, got, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(want)
	b, _ := os.ReadFile(got)
	if len(rep.Ears) != 2 || !bytes.Equal(a, b) {
		t.Errorf("%d ears, label map equal to SegmentFile's: %v; want 2 ears, equal", len(rep.Ears), bytes.Equal(a, b))
	}
	boom := errors.New("weights are corrupt")
	l = LoadAsync(func() (*Model, error) { return nil, boom })
	if _, err := SegmentFileLoading(context.Background(), l, in, filepath.Join(dir, "x.nii.gz"), FileOptions{Options: DefaultOptions()}); !errors.Is(err, boom) {
		t.Errorf("model failing to load: %v, want %v", err, boom)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.nii.gz")); err == nil {
		t.Error("a label map was written without a model")
	}
}
