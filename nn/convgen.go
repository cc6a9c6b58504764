package nn

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The general path: convolutions whose kernel or stride differs between
// axes, as nnU-Net plans for anisotropic scans (a 1x3x3 kernel with a 1x2x2
// stride in the first stages, where slices are thick). The cubic layers keep
// their own tuned engine; these run as im2col plus a matrix product (gonum's
// Sgemm), one output slice at a time, which is simple, exact to float32
// summation order and fast enough for the few anisotropic stages a plan has.

// genConv is a Conv3d's per-axis geometry; nil for cubic layers.
type genConv struct {
	k, s, p [3]int // kernel, stride, padding (k/2) per axis: d, h, w
	col     []float32
	dcol    []float32
}

// NewConv3dAniso returns a convolution with a per-axis kernel (odd sizes)
// and stride, padding kernel/2 per axis: PyTorch's nn.Conv3d with
// kernel_size=(kd,kh,kw), stride=(sd,sh,sw), padding=((kd-1)/2, ...). A
// cubic kernel with a cubic stride gets the ordinary NewConv3d layer and its
// fast engine, so isotropic networks are unchanged bit for bit.
func NewConv3dAniso(in, out int, kernel, stride [3]int, bias bool) *Conv3d {
	if kernel[0] == kernel[1] && kernel[1] == kernel[2] && stride[0] == stride[1] && stride[1] == stride[2] {
		return NewConv3d(in, out, kernel[0], stride[0], bias)
	}
	for a := range 3 {
		if in <= 0 || out <= 0 || kernel[a] <= 0 || kernel[a]%2 == 0 || stride[a] <= 0 {
			panic(fmt.Sprintf("nn.NewConv3dAniso: bad configuration in=%d out=%d kernel=%v stride=%v", in, out, kernel, stride))
		}
	}
	c := &Conv3d{In: in, Out: out, gen: &genConv{k: kernel, s: stride, p: [3]int{kernel[0] / 2, kernel[1] / 2, kernel[2] / 2}}}
	c.Weight = NewParam("weight", out, in, kernel[0], kernel[1], kernel[2])
	if bias {
		c.Bias = NewParam("bias", out)
	}
	return c
}

// KernelSize is the kernel per axis (d, h, w).
func (c *Conv3d) KernelSize() [3]int {
	if c.gen != nil {
		return c.gen.k
	}
	return [3]int{c.Kernel, c.Kernel, c.Kernel}
}

// StrideSize is the stride per axis (d, h, w).
func (c *Conv3d) StrideSize() [3]int {
	if c.gen != nil {
		return c.gen.s
	}
	return [3]int{c.Stride, c.Stride, c.Stride}
}

func (g *genConv) outShape(s [5]int, out int) [5]int {
	var o [3]int
	for a := range 3 {
		o[a] = (s[2+a]+2*g.p[a]-g.k[a])/g.s[a] + 1
	}
	return [5]int{s[0], out, o[0], o[1], o[2]}
}

// im2col fills col (taps x OH*OW, tap = (ci, kd, kh, kw) in PyTorch's
// weight order) for output slice od of one sample's input x.
func (g *genConv) im2col(col, x []float32, cin int, in, out [5]int, od int) {
	id, ih, iw := in[2], in[3], in[4]
	oh, ow := out[3], out[4]
	ohw := oh * ow
	r := 0
	for ci := range cin {
		xc := x[ci*id*ih*iw:]
		for kd := range g.k[0] {
			z := od*g.s[0] - g.p[0] + kd
			for kh := range g.k[1] {
				for kw := range g.k[2] {
					row := col[r*ohw : (r+1)*ohw]
					r++
					if z < 0 || z >= id {
						clear(row)
						continue
					}
					for y := range oh {
						yy := y*g.s[1] - g.p[1] + kh
						dst := row[y*ow : (y+1)*ow]
						if yy < 0 || yy >= ih {
							clear(dst)
							continue
						}
						src := xc[(z*ih+yy)*iw:]
						for xo := range ow {
							xx := xo*g.s[2] - g.p[2] + kw
							if xx < 0 || xx >= iw {
								dst[xo] = 0
							} else {
								dst[xo] = src[xx]
							}
						}
					}
				}
			}
		}
	}
}

// col2im adds col (as im2col lays it out) into one sample's dx.
func (g *genConv) col2im(dx, col []float32, cin int, in, out [5]int, od int) {
	id, ih, iw := in[2], in[3], in[4]
	oh, ow := out[3], out[4]
	ohw := oh * ow
	r := 0
	for ci := range cin {
		xc := dx[ci*id*ih*iw:]
		for kd := range g.k[0] {
			z := od*g.s[0] - g.p[0] + kd
			for kh := range g.k[1] {
				for kw := range g.k[2] {
					row := col[r*ohw : (r+1)*ohw]
					r++
					if z < 0 || z >= id {
						continue
					}
					for y := range oh {
						yy := y*g.s[1] - g.p[1] + kh
						if yy < 0 || yy >= ih {
							continue
						}
						src := row[y*ow : (y+1)*ow]
						dst := xc[(z*ih+yy)*iw:]
						for xo := range ow {
							xx := xo*g.s[2] - g.p[2] + kw
							if xx >= 0 && xx < iw {
								dst[xx] += src[xo]
							}
						}
					}
				}
			}
		}
	}
}

func (c *Conv3d) forwardGen(x, y *Tensor) *Tensor {
	g := c.gen
	o := g.outShape(x.Shape, c.Out)
	if o[2] <= 0 || o[3] <= 0 || o[4] <= 0 {
		panic(fmt.Sprintf("nn.Conv3d: input %v too small for kernel %v stride %v", x.Shape, g.k, g.s))
	}
	y = Ensure(y, o)
	taps := c.In * g.k[0] * g.k[1] * g.k[2]
	ohw, ospat, ispat := o[3]*o[4], o[2]*o[3]*o[4], x.Spatial()
	g.col = growF32(g.col, taps*ohw)
	w := blas32.General{Rows: c.Out, Cols: taps, Stride: taps, Data: c.Weight.Data}
	for n := range x.Shape[0] {
		xn := x.Data[n*c.In*ispat : (n+1)*c.In*ispat]
		yn := y.Data[n*c.Out*ospat : (n+1)*c.Out*ospat]
		for od := range o[2] {
			g.im2col(g.col, xn, c.In, x.Shape, o, od)
			dst := blas32.General{Rows: c.Out, Cols: ohw, Stride: ospat, Data: yn[od*ohw:]}
			beta := float32(0)
			if c.Bias != nil {
				for co := range c.Out {
					row := yn[co*ospat+od*ohw : co*ospat+(od+1)*ohw]
					for i := range row {
						row[i] = c.Bias.Data[co]
					}
				}
				beta = 1
			}
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, w, blas32.General{Rows: taps, Cols: ohw, Stride: ohw, Data: g.col}, beta, dst)
		}
	}
	return y
}

func (c *Conv3d) backwardGen(dy *Tensor) *Tensor {
	g := c.gen
	x := c.x
	o := g.outShape(x.Shape, c.Out)
	if dy.Shape != o {
		panic(fmt.Sprintf("nn.Conv3d: gradient %v does not match output %v", dy.Shape, o))
	}
	taps := c.In * g.k[0] * g.k[1] * g.k[2]
	ohw, ospat, ispat := o[3]*o[4], o[2]*o[3]*o[4], x.Spatial()
	g.col = growF32(g.col, taps*ohw)
	if !c.NoInputGrad {
		g.dcol = growF32(g.dcol, taps*ohw)
		c.dx = Ensure(c.dx, x.Shape)
		clear(c.dx.Data)
	}
	w := blas32.General{Rows: c.Out, Cols: taps, Stride: taps, Data: c.Weight.Data}
	dw := blas32.General{Rows: c.Out, Cols: taps, Stride: taps, Data: c.Weight.Grad}
	for n := range x.Shape[0] {
		xn := x.Data[n*c.In*ispat : (n+1)*c.In*ispat]
		dyn := dy.Data[n*c.Out*ospat : (n+1)*c.Out*ospat]
		if c.Bias != nil {
			for co := range c.Out {
				var s float64
				for _, v := range dyn[co*ospat : (co+1)*ospat] {
					s += float64(v)
				}
				c.Bias.Grad[co] += float32(s)
			}
		}
		for od := range o[2] {
			d := blas32.General{Rows: c.Out, Cols: ohw, Stride: ospat, Data: dyn[od*ohw:]}
			g.im2col(g.col, xn, c.In, x.Shape, o, od)
			col := blas32.General{Rows: taps, Cols: ohw, Stride: ohw, Data: g.col}
			blas32.Gemm(blas.NoTrans, blas.Trans, 1, d, col, 1, dw)
			if c.NoInputGrad {
				continue
			}
			dcol := blas32.General{Rows: taps, Cols: ohw, Stride: ohw, Data: g.dcol}
			blas32.Gemm(blas.Trans, blas.NoTrans, 1, w, d, 0, dcol)
			g.col2im(c.dx.Data[n*c.In*ispat:(n+1)*c.In*ispat], g.dcol, c.In, x.Shape, o, od)
		}
	}
	if c.NoInputGrad {
		return nil
	}
	return c.dx
}

// genUp is a ConvTranspose3d's per-axis stride (= kernel); nil for the
// cubic kernel-2 layers.
type genUp struct {
	s   [3]int
	tmp []float32
}

// NewConvTranspose3dStride returns a transposed convolution whose kernel
// equals its stride per axis (nnU-Net's upsampling: each input voxel
// becomes an sd x sh x sw block), with bias. Weight has PyTorch's shape
// [in, out, sd, sh, sw]. Stride 2x2x2 gets the ordinary NewConvTranspose3d
// layer and its fast engine.
func NewConvTranspose3dStride(in, out int, stride [3]int) *ConvTranspose3d {
	if stride == [3]int{2, 2, 2} {
		return NewConvTranspose3d(in, out)
	}
	if in <= 0 || out <= 0 || stride[0] <= 0 || stride[1] <= 0 || stride[2] <= 0 {
		panic(fmt.Sprintf("nn.NewConvTranspose3dStride: bad configuration in=%d out=%d stride=%v", in, out, stride))
	}
	return &ConvTranspose3d{In: in, Out: out, gen: &genUp{s: stride},
		Weight: NewParam("weight", in, out, stride[0], stride[1], stride[2]),
		Bias:   NewParam("bias", out)}
}

// StrideSize is the upsampling factor per axis (d, h, w).
func (c *ConvTranspose3d) StrideSize() [3]int {
	if c.gen != nil {
		return c.gen.s
	}
	return [3]int{2, 2, 2}
}

func (g *genUp) outShape(s [5]int, out int) [5]int {
	return [5]int{s[0], out, s[2] * g.s[0], s[3] * g.s[1], s[4] * g.s[2]}
}

// scatter moves t (rows (co, a, b, c), columns the input voxels) into y,
// adding when add is set; gather is its inverse, from y into t.
func (g *genUp) shuffle(t, y []float32, in, out [5]int, cout int, toY bool) {
	d, h, w := in[2], in[3], in[4]
	sd, sh, sw := g.s[0], g.s[1], g.s[2]
	oh, ow := out[3], out[4]
	spat := d * h * w
	r := 0
	for co := range cout {
		yc := y[co*out[2]*oh*ow:]
		for a := range sd {
			for b := range sh {
				for cc := range sw {
					row := t[r*spat : (r+1)*spat]
					r++
					for z := range d {
						for yy := range h {
							base := ((z*sd+a)*oh+yy*sh+b)*ow + cc
							src := row[(z*h+yy)*w : (z*h+yy+1)*w]
							if toY {
								for xx, v := range src {
									yc[base+xx*sw] += v
								}
							} else {
								for xx := range src {
									src[xx] = yc[base+xx*sw]
								}
							}
						}
					}
				}
			}
		}
	}
}

func (c *ConvTranspose3d) forwardGen(x, y *Tensor) *Tensor {
	g := c.gen
	o := g.outShape(x.Shape, c.Out)
	y = Ensure(y, o)
	blk := g.s[0] * g.s[1] * g.s[2]
	rows, spat, ospat := c.Out*blk, x.Spatial(), o[2]*o[3]*o[4]
	g.tmp = growF32(g.tmp, rows*spat)
	w := blas32.General{Rows: c.In, Cols: rows, Stride: rows, Data: c.Weight.Data}
	for n := range x.Shape[0] {
		yn := y.Data[n*c.Out*ospat : (n+1)*c.Out*ospat]
		for co := range c.Out {
			row := yn[co*ospat : (co+1)*ospat]
			for i := range row {
				row[i] = c.Bias.Data[co]
			}
		}
		xn := blas32.General{Rows: c.In, Cols: spat, Stride: spat, Data: x.Data[n*c.In*spat : (n+1)*c.In*spat]}
		blas32.Gemm(blas.Trans, blas.NoTrans, 1, w, xn, 0, blas32.General{Rows: rows, Cols: spat, Stride: spat, Data: g.tmp})
		g.shuffle(g.tmp, yn, x.Shape, o, c.Out, true)
	}
	return y
}

func (c *ConvTranspose3d) backwardGen(dy *Tensor) *Tensor {
	g := c.gen
	x := c.x
	o := g.outShape(x.Shape, c.Out)
	if dy.Shape != o {
		panic(fmt.Sprintf("nn.ConvTranspose3d: gradient %v does not match output %v", dy.Shape, o))
	}
	blk := g.s[0] * g.s[1] * g.s[2]
	rows, spat, ospat := c.Out*blk, x.Spatial(), o[2]*o[3]*o[4]
	g.tmp = growF32(g.tmp, rows*spat)
	c.dx = Ensure(c.dx, x.Shape)
	w := blas32.General{Rows: c.In, Cols: rows, Stride: rows, Data: c.Weight.Data}
	dw := blas32.General{Rows: c.In, Cols: rows, Stride: rows, Data: c.Weight.Grad}
	for n := range x.Shape[0] {
		dyn := dy.Data[n*c.Out*ospat : (n+1)*c.Out*ospat]
		for co := range c.Out {
			var s float64
			for _, v := range dyn[co*ospat : (co+1)*ospat] {
				s += float64(v)
			}
			c.Bias.Grad[co] += float32(s)
		}
		g.shuffle(g.tmp, dyn, x.Shape, o, c.Out, false)
		t := blas32.General{Rows: rows, Cols: spat, Stride: spat, Data: g.tmp}
		xn := blas32.General{Rows: c.In, Cols: spat, Stride: spat, Data: x.Data[n*c.In*spat : (n+1)*c.In*spat]}
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, xn, t, 1, dw)
		dxn := blas32.General{Rows: c.In, Cols: spat, Stride: spat, Data: c.dx.Data[n*c.In*spat : (n+1)*c.In*spat]}
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, w, t, 0, dxn)
	}
	return c.dx
}
