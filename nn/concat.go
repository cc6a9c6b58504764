package nn

import "fmt"

// Concat joins two tensors along the channel axis, torch.cat([a, b], 1):
// the U-Net's skip connection. It has two inputs, so it is not a Layer.
type Concat struct {
	// Threads caps the goroutines the layer uses; 0 means GOMAXPROCS.
	Threads int

	y      *Tensor
	da, db *Tensor
	ca, cb int
}

// Forward returns a tensor with a's channels followed by b's. a and b must
// agree in batch size and spatial size. The output is owned by c.
func (c *Concat) Forward(a, b *Tensor) *Tensor {
	if a.Shape[0] != b.Shape[0] || a.Shape[2] != b.Shape[2] || a.Shape[3] != b.Shape[3] || a.Shape[4] != b.Shape[4] {
		panic(fmt.Sprintf("nn.Concat: shapes %v and %v differ outside the channel axis", a.Shape, b.Shape))
	}
	c.ca, c.cb = a.Shape[1], b.Shape[1]
	s := a.Shape
	s[1] = c.ca + c.cb
	c.y = Ensure(c.y, s)
	S, C := a.Spatial(), c.ca+c.cb
	// One job per output channel, so that a single sample still copies on
	// every thread.
	splitJobs(c.Threads, s[0]*C, S, func(j int) {
		n, ch := j/C, j%C
		var src []float32
		if ch < c.ca {
			src = a.Data[(n*c.ca+ch)*S:]
		} else {
			src = b.Data[(n*c.cb+ch-c.ca)*S:]
		}
		copy(c.y.Data[j*S:(j+1)*S], src[:S])
	})
	return c.y
}

// Backward splits dy into the gradients for a and b (owned by c).
func (c *Concat) Backward(dy *Tensor) (da, db *Tensor) {
	if dy.Shape[1] != c.ca+c.cb {
		panic(fmt.Sprintf("nn.Concat: gradient %v does not match %d+%d channels", dy.Shape, c.ca, c.cb))
	}
	sa, sb := dy.Shape, dy.Shape
	sa[1], sb[1] = c.ca, c.cb
	c.da, c.db = Ensure(c.da, sa), Ensure(c.db, sb)
	S, C := dy.Spatial(), c.ca+c.cb
	splitJobs(c.Threads, dy.Shape[0]*C, S, func(j int) {
		n, ch := j/C, j%C
		var dst []float32
		if ch < c.ca {
			dst = c.da.Data[(n*c.ca+ch)*S:]
		} else {
			dst = c.db.Data[(n*c.cb+ch-c.ca)*S:]
		}
		copy(dst[:S], dy.Data[j*S:(j+1)*S])
	})
	return c.da, c.db
}
