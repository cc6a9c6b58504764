package nnunet

import (
	"context"
	"fmt"
	"math"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/unet"
)

// array is a float32 volume in nnU-Net's axis order: dims z y x, x fastest.
type array struct {
	dims [3]int
	data []float32
}

func (a *array) len() int { return a.dims[0] * a.dims[1] * a.dims[2] }

// windowStarts is nnU-Net's compute_steps_for_sliding_window for one axis:
// as few windows as keep the step at most step*patch, spread evenly from 0
// to size-patch, starts rounded half to even (numpy's round).
func windowStarts(size, patch int, step float64) []int {
	target := step * float64(patch)
	n := int(math.Ceil(float64(size-patch)/target)) + 1
	if n <= 1 {
		return []int{0}
	}
	actual := float64(size-patch) / float64(n-1)
	out := make([]int, n)
	for i := range out {
		out[i] = int(math.RoundToEven(actual * float64(i)))
	}
	return out
}

// gaussianWeights is nnU-Net's compute_gaussian: a unit impulse at the
// patch centre (index p/2) blurred by scipy's gaussian_filter with sigma
// p/8 per axis (truncate 4, constant 0 outside), scaled so its maximum is
// 10, zeros raised to the smallest non-zero value.
func gaussianWeights(patch [3]int) []float32 {
	var k [3][]float64
	for a, p := range patch {
		sigma := float64(p) / 8
		r := int(4*sigma + 0.5)
		w := make([]float64, 2*r+1)
		var sum float64
		for i := range w {
			x := float64(i - r)
			w[i] = math.Exp(-0.5 * x * x / (sigma * sigma))
			sum += w[i]
		}
		line := make([]float64, p)
		for i := range line {
			if d := i - p/2; d >= -r && d <= r {
				line[i] = w[d+r] / sum
			}
		}
		k[a] = line
	}
	g := make([]float64, patch[0]*patch[1]*patch[2])
	var hi float64
	for z := range patch[0] {
		for y := range patch[1] {
			for x := range patch[2] {
				v := k[0][z] * k[1][y] * k[2][x]
				g[(z*patch[1]+y)*patch[2]+x] = v
				hi = max(hi, v)
			}
		}
	}
	out := make([]float32, len(g))
	lo := float32(math.Inf(1))
	for i, v := range g {
		out[i] = float32(v / hi * 10)
		if out[i] > 0 {
			lo = min(lo, out[i])
		}
	}
	for i := range out {
		if out[i] == 0 {
			out[i] = lo
		}
	}
	return out
}

// slidingWindow is nnU-Net's predict_sliding_window_return_logits for one
// network: pad to at least the patch (zeros, split evenly, the extra voxel
// after), windows at windowStarts with step 0.5, each prediction the mean
// over the mirrorings, weighted by the Gaussian, summed and divided by the
// summed weights; padding cut off again. It returns classes x dims logits.
func slidingWindow(ctx context.Context, net *unet.UNet, img *array, patch [3]int, mirror []int, classes int) ([]float32, error) {
	var padLo, pd [3]int
	for a := range 3 {
		pad := max(patch[a]-img.dims[a], 0)
		padLo[a] = pad / 2
		pd[a] = img.dims[a] + pad
	}
	padded := &array{dims: pd, data: make([]float32, pd[0]*pd[1]*pd[2])}
	for z := range img.dims[0] {
		for y := range img.dims[1] {
			src := img.data[(z*img.dims[1]+y)*img.dims[2]:][:img.dims[2]]
			copy(padded.data[((z+padLo[0])*pd[1]+y+padLo[1])*pd[2]+padLo[2]:], src)
		}
	}
	n := padded.len()
	logits := make([]float32, classes*n)
	weight := make([]float32, n)
	g := gaussianWeights(patch)
	ps := patch[0] * patch[1] * patch[2]
	x := nn.NewTensor(1, 1, patch[0], patch[1], patch[2])
	acc := make([]float32, classes*ps)
	combos := mirrorCombos(mirror)
	for _, z0 := range windowStarts(pd[0], patch[0], 0.5) {
		for _, y0 := range windowStarts(pd[1], patch[1], 0.5) {
			for _, x0 := range windowStarts(pd[2], patch[2], 0.5) {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				clear(acc)
				for _, flip := range combos {
					cut(x.Data, padded, [3]int{z0, y0, x0}, patch, flip)
					out := net.Forward(x, false)[0]
					if out.Shape != [5]int{1, classes, patch[0], patch[1], patch[2]} {
						return nil, fmt.Errorf("network returned %v for a %v patch", out.Shape, patch)
					}
					addFlipped(acc, out.Data, classes, patch, flip)
				}
				inv := 1 / float32(len(combos))
				for z := range patch[0] {
					for y := range patch[1] {
						row := ((z0+z)*pd[1]+y0+y)*pd[2] + x0
						pr := (z*patch[1] + y) * patch[2]
						for xx := range patch[2] {
							w := g[pr+xx]
							weight[row+xx] += w
							for c := range classes {
								logits[c*n+row+xx] += acc[c*ps+pr+xx] * inv * w
							}
						}
					}
				}
			}
		}
	}
	out := make([]float32, classes*img.len())
	for c := range classes {
		for z := range img.dims[0] {
			for y := range img.dims[1] {
				src := ((z+padLo[0])*pd[1]+y+padLo[1])*pd[2] + padLo[2]
				dst := c*img.len() + (z*img.dims[1]+y)*img.dims[2]
				for xx := range img.dims[2] {
					out[dst+xx] = logits[c*n+src+xx] / weight[src+xx]
				}
			}
		}
	}
	return out, nil
}

// mirrorCombos lists the flips nnU-Net averages: none, then every non-empty
// combination of the allowed axes.
func mirrorCombos(axes []int) [][3]bool {
	out := [][3]bool{{}}
	for m := 1; m < 1<<len(axes); m++ {
		var f [3]bool
		for i, a := range axes {
			if m&(1<<i) != 0 {
				f[a] = true
			}
		}
		out = append(out, f)
	}
	return out
}

// cut copies the patch at o of src into dst, flipped along the flagged axes.
func cut(dst []float32, src *array, o, patch [3]int, flip [3]bool) {
	for z := range patch[0] {
		sz := o[0] + z
		if flip[0] {
			sz = o[0] + patch[0] - 1 - z
		}
		for y := range patch[1] {
			sy := o[1] + y
			if flip[1] {
				sy = o[1] + patch[1] - 1 - y
			}
			s := src.data[(sz*src.dims[1]+sy)*src.dims[2]+o[2]:][:patch[2]]
			d := dst[(z*patch[1]+y)*patch[2]:][:patch[2]]
			if flip[2] {
				for x := range d {
					d[x] = s[patch[2]-1-x]
				}
			} else {
				copy(d, s)
			}
		}
	}
}

// addFlipped adds out (classes x patch), flipped back, into acc.
func addFlipped(acc, out []float32, classes int, patch [3]int, flip [3]bool) {
	ps := patch[0] * patch[1] * patch[2]
	for c := range classes {
		for z := range patch[0] {
			sz := z
			if flip[0] {
				sz = patch[0] - 1 - z
			}
			for y := range patch[1] {
				sy := y
				if flip[1] {
					sy = patch[1] - 1 - y
				}
				s := out[c*ps+(sz*patch[1]+sy)*patch[2]:][:patch[2]]
				d := acc[c*ps+(z*patch[1]+y)*patch[2]:][:patch[2]]
				if flip[2] {
					for x := range d {
						d[x] += s[patch[2]-1-x]
					}
				} else {
					for x := range d {
						d[x] += s[x]
					}
				}
			}
		}
	}
}
