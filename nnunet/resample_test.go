package nnunet

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/internal/pyref"
)

// resampleScript is nnU-Net's resample_data_or_seg for one channel, written
// from its documented behaviour: skimage.transform.resize (mode 'edge', no
// anti-aliasing) in 3-D, or, with a separate axis, per slice in 2-D and then
// map_coordinates (order_z, mode 'nearest') along that axis.
const resampleScript = `
import sys, numpy as np
from skimage.transform import resize
from scipy.ndimage import map_coordinates
def one(src, dst, shape, new, order, order_z, axis):
    x = np.fromfile(src, dtype="<f4").reshape(shape)
    if axis < 0:
        y = resize(x, new, order, mode="edge", anti_aliasing=False)
    else:
        mid = list(new); mid[axis] = shape[axis]
        y = np.zeros(mid)
        for i in range(shape[axis]):
            sl = [slice(None)] * 3; sl[axis] = i; sl = tuple(sl)
            y[sl] = resize(x[sl], [n for a, n in enumerate(new) if a != axis], order, mode="edge", anti_aliasing=False)
        grids = np.mgrid[:new[0], :new[1], :new[2]].astype(float)
        for a in range(3):
            grids[a] = mid[a] / new[a] * (grids[a] + 0.5) - 0.5
        y = map_coordinates(y, grids, order=order_z, mode="nearest")
    np.asarray(y, dtype="<f4").tofile(dst)
for line in open(sys.argv[1]):
    f = line.split()
    one(f[0], f[1], [int(v) for v in f[2].split(",")], [int(v) for v in f[3].split(",")], int(f[4]), int(f[5]), int(f[6]))
`

// resampleArray against skimage/scipy, 3-D and with a separate coarse
// axis (thick slices), up- and downsampling.
func TestResampleMatchesSkimage(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "resample.py")
	if err := os.WriteFile(script, []byte(resampleScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		dims, to   [3]int
		from, spac [3]float64
		r          Resampling
		axis       int
	}{
		{"3-D order 3 up", [3]int{7, 9, 8}, [3]int{11, 13, 12}, [3]float64{0.6, 0.5, 0.5}, [3]float64{0.4, 0.4, 0.4}, Resampling{Order: 3}, -1},
		{"3-D order 3 down", [3]int{12, 10, 9}, [3]int{8, 7, 6}, [3]float64{0.3, 0.3, 0.3}, [3]float64{0.45, 0.45, 0.45}, Resampling{Order: 3}, -1},
		{"3-D order 1", [3]int{6, 7, 8}, [3]int{9, 10, 11}, [3]float64{0.6, 0.5, 0.5}, [3]float64{0.4, 0.4, 0.4}, Resampling{Order: 1}, -1},
		{"thick slices order 3, z 0", [3]int{5, 12, 11}, [3]int{12, 9, 8}, [3]float64{2, 0.4, 0.4}, [3]float64{0.8, 0.5, 0.5}, Resampling{Order: 3, OrderZ: 0}, 0},
		{"thick slices order 1, z 1", [3]int{5, 12, 11}, [3]int{12, 9, 8}, [3]float64{2, 0.4, 0.4}, [3]float64{0.8, 0.5, 0.5}, Resampling{Order: 1, OrderZ: 1}, 0},
	}
	// One Python run computes every reference.
	var jobs strings.Builder
	inputs := make([]*array, len(cases))
	for c, tc := range cases {
		a := &array{dims: tc.dims, data: make([]float32, tc.dims[0]*tc.dims[1]*tc.dims[2])}
		raw := make([]byte, 4*len(a.data))
		for i := range a.data {
			a.data[i] = float32(math.Sin(float64(i)*0.7)*3 + math.Cos(float64(i*i%17)))
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(a.data[i]))
		}
		inputs[c] = a
		src := filepath.Join(dir, fmt.Sprintf("src%d.f32", c))
		if err := os.WriteFile(src, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		join := func(d [3]int) string { return fmt.Sprintf("%d,%d,%d", d[0], d[1], d[2]) }
		fmt.Fprintf(&jobs, "%s %s %s %s %d %d %d\n", src, filepath.Join(dir, fmt.Sprintf("dst%d.f32", c)), join(tc.dims), join(tc.to), tc.r.Order, tc.r.OrderZ, tc.axis)
	}
	jobFile := filepath.Join(dir, "jobs.txt")
	if err := os.WriteFile(jobFile, []byte(jobs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pyref.Run(t, script, jobFile)
	for c, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := separateAxis(tc.r, tc.from, tc.spac); got != tc.axis {
				t.Fatalf("separate axis %d, want %d", got, tc.axis)
			}
			got, err := resampleArray(inputs[c], tc.to, tc.r, tc.from, tc.spac)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("dst%d.f32", c)))
			if err != nil || len(ref) != 4*len(got.data) {
				t.Fatalf("reference: %d bytes for %d voxels, %v", len(ref), len(got.data), err)
			}
			var md float64
			for i, v := range got.data {
				md = max(md, math.Abs(float64(v-math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:])))))
			}
			if md > 1e-4 {
				t.Errorf("max |otoseg - skimage| = %.3g", md)
			}
		})
	}
}
