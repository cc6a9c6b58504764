package nnunet

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/otoseg/otoseg/volume"
)

// Options tune prediction.
type Options struct {
	// NoMirror turns off mirroring test-time augmentation (nnU-Net's
	// --disable_tta); by default every combination of the model's mirror
	// axes is averaged, as nnU-Net does.
	NoMirror bool
	// Threads caps the goroutines of each layer (0: GOMAXPROCS).
	Threads int
}

// Result is a segmentation with what it took.
type Result struct {
	Labels *volume.Volume `json:"-"`
	// Stages are seconds per step: preprocess, predict, resample_back.
	Stages  map[string]float64 `json:"stage_seconds"`
	Seconds float64            `json:"seconds"`
	// Windows is the number of patches per fold, Passes the network
	// evaluations in all.
	Windows int `json:"windows"`
	Passes  int `json:"network_passes"`
	// VoxelsByLabel counts the voxels of each label value.
	VoxelsByLabel map[string]int `json:"voxels_by_label"`
}

// Segment predicts img (one CT channel, HU) as nnU-Net's predictor does
// with this model and returns labels on img's grid.
func (l *Loaded) Segment(ctx context.Context, img *volume.Volume, o Options) (*Result, error) {
	if err := img.Check(); err != nil {
		return nil, fmt.Errorf("nnunet: %w", err)
	}
	t0 := time.Now()
	res := &Result{Stages: map[string]float64{}, VoxelsByLabel: map[string]int{}}
	labels := volume.New(img.Geometry, volume.Uint8)
	res.Labels = labels
	lo, hi, ok := img.BoundingBox(func(v float32) bool { return v != 0 })
	if !ok {
		res.Seconds = time.Since(t0).Seconds()
		return res, nil // nnU-Net predicts background for an all-zero image
	}
	crop, err := volume.Crop(img, lo, hi)
	if err != nil {
		return nil, err
	}
	p := l.Plan
	tf := p.perm()
	a := toArray(crop)
	p.Intensity.normalise(a.data)
	a.data, a.dims = permute(a.data, a.dims, tf)
	cropZYX := a.dims // the cropped image's shape in nnU-Net's (transposed) order
	zyx := [3]float64{crop.Spacing[2], crop.Spacing[1], crop.Spacing[0]}
	from := [3]float64{zyx[tf[0]], zyx[tf[1]], zyx[tf[2]]}
	var shape [3]int
	for ax := range 3 {
		shape[ax] = max(int(math.RoundToEven(from[ax]/p.Spacing[ax]*float64(a.dims[ax]))), 1)
	}
	if a, err = resampleArray(a, shape, p.Data, from, p.Spacing); err != nil {
		return nil, fmt.Errorf("nnunet: resample to the plan's spacing: %w", err)
	}
	t1 := time.Now()
	res.Stages["preprocess"] = t1.Sub(t0).Seconds()
	classes := p.Net.NumClasses
	mirror := l.MirrorAxes
	if o.NoMirror {
		mirror = nil
	}
	var sum []float32
	// One network runs every fold, its weights swapped in: each network
	// keeps its layers' output buffers once it has run, gigabytes for
	// nnU-Net's sizes, and five folds must not hold five sets.
	runner, err := l.runner()
	if err != nil {
		return nil, err
	}
	runner.SetThreads(o.Threads)
	for _, net := range l.Nets {
		for i, q := range runner.Params() {
			copy(q.Data, net.Params()[i].Data)
		}
		lg, err := slidingWindow(ctx, runner, a, p.PatchSize, mirror, classes)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = lg
		} else {
			for i, v := range lg {
				sum[i] += v
			}
		}
	}
	if n := float32(len(l.Nets)); n > 1 {
		for i := range sum {
			sum[i] /= n
		}
	}
	res.Windows = windowCount(a.dims, p.PatchSize)
	res.Passes = res.Windows * len(mirrorCombos(mirror)) * len(l.Nets)
	t2 := time.Now()
	res.Stages["predict"] = t2.Sub(t1).Seconds()
	seg, err := backToCrop(sum, classes, a.dims, cropZYX, p, from)
	if err != nil {
		return nil, err
	}
	var inv [3]int // transpose_backward
	for i, v := range tf {
		inv[v] = i
	}
	seg, _ = permute(seg, cropZYX, inv)
	pasteLabels(labels, seg, lo, crop.Dims)
	for _, v := range labels.Data {
		res.VoxelsByLabel[l.Labels[int(v)].Name]++
	}
	res.Stages["resample_back"] = time.Since(t2).Seconds()
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

func windowCount(dims, patch [3]int) int {
	n := 1
	for a := range 3 {
		n *= len(windowStarts(max(dims[a], patch[a]), patch[a], 0.5))
	}
	return n
}

// normalise is nnU-Net's CTNormalization, in float32 as nnU-Net computes it.
func (in Intensity) normalise(d []float32) {
	lo, hi := float32(in.Lower), float32(in.Upper)
	mean, sd := float32(in.Mean), float32(max(in.Std, 1e-8))
	for i, v := range d {
		d[i] = (min(max(v, lo), hi) - mean) / sd
	}
}

// toArray views a volume's voxels in nnU-Net's z y x order (a copy).
func toArray(v *volume.Volume) *array {
	return &array{dims: [3]int{v.Dims[2], v.Dims[1], v.Dims[0]}, data: append([]float32(nil), v.Data...)}
}

// backToCrop resamples the logits to the cropped image's shape (nnU-Net's
// resampling_fn_probabilities) and takes the argmax (the first class on
// ties, as numpy does).
func backToCrop(logits []float32, classes int, dims, want [3]int, p Plan, to [3]float64) ([]uint8, error) {
	n := dims[0] * dims[1] * dims[2]
	m := want[0] * want[1] * want[2]
	planes := make([][]float32, classes)
	for c := range classes {
		a := &array{dims: dims, data: logits[c*n : (c+1)*n]}
		r, err := resampleArray(a, want, p.Probabilities, p.Spacing, to)
		if err != nil {
			return nil, fmt.Errorf("nnunet: resample back to the scan: %w", err)
		}
		planes[c] = r.data
	}
	seg := make([]uint8, m)
	for i := range seg {
		best, arg := planes[0][i], 0
		for c := 1; c < classes; c++ {
			if v := planes[c][i]; v > best {
				best, arg = v, c
			}
		}
		seg[i] = uint8(arg)
	}
	return seg, nil
}

// pasteLabels puts the crop's labels back at lo in the full label volume.
func pasteLabels(dst *volume.Volume, seg []uint8, lo, dims [3]int) {
	for k := range dims[2] {
		for j := range dims[1] {
			row := dst.Index(lo[0], lo[1]+j, lo[2]+k)
			src := seg[(k*dims[1]+j)*dims[0]:][:dims[0]]
			for i, v := range src {
				dst.Data[row+i] = float32(v)
			}
		}
	}
}

// permute transposes a z y x array as numpy's transpose(perm) does: output
// axis i is input axis perm[i].
func permute[T any](d []T, dims, perm [3]int) ([]T, [3]int) {
	if perm == [3]int{0, 1, 2} {
		return d, dims
	}
	od := [3]int{dims[perm[0]], dims[perm[1]], dims[perm[2]]}
	var stride [3]int // input strides
	stride[2], stride[1], stride[0] = 1, dims[2], dims[1]*dims[2]
	s0, s1, s2 := stride[perm[0]], stride[perm[1]], stride[perm[2]]
	out := make([]T, len(d))
	i := 0
	for a := range od[0] {
		for b := range od[1] {
			base := a*s0 + b*s1
			for c := range od[2] {
				out[i] = d[base+c*s2]
				i++
			}
		}
	}
	return out, od
}
