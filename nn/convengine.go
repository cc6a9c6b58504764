package nn

// convEngine runs a Conv3d's passes and holds their scratch between calls.
type convEngine struct{ kern *kernels }

func (e *convEngine) forward(g *convGeom, x, w, b, y []float32, threads int) {
	refConvForward(g, x, w, b, y, threads)
}

func (e *convEngine) backwardData(g *convGeom, dy, w, dx []float32, threads int) {
	refConvBackwardData(g, dy, w, dx, threads)
}

func (e *convEngine) backwardWeight(g *convGeom, x, dy, dw, db []float32, threads int) {
	refConvBackwardWeight(g, x, dy, dw, db, threads)
}

// upEngine runs a ConvTranspose3d's passes and holds their scratch.
type upEngine struct{ kern *kernels }

func (e *upEngine) forward(x *Tensor, w, b []float32, y *Tensor, threads int) {
	refUpForward(x, w, b, y, threads)
}

func (e *upEngine) backward(x, dy *Tensor, w, dw, db []float32, dx *Tensor, threads int) {
	refUpBackward(x, dy, w, dw, db, dx, threads)
}
