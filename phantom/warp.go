package phantom

import (
	"math"
	"math/rand/v2"
)

// warpField is a smooth random displacement of an ear's local frame: a sum
// of a few plane waves, d(v) = Σ a_m · sin(k_m·v + φ_m). Real labyrinths
// differ from one another by more than their size and a handful of
// parameters: canals bend, the vestibule leans, the cochlea tilts. A smooth
// field with wavelengths of the labyrinth's own size and
// sub-millimetre amplitude bends every part of the ear together, so a
// network cannot learn one rigid template.
//
// The displacement moves the centre curves and centres the shapes are
// built from, never the radii, so every solid keeps an exact distance
// function and tubes keep their calibre.
type warpField struct {
	k   [warpModes]vec3 // wave vectors, rad/mm
	a   [warpModes]vec3 // amplitudes, mm
	phi [warpModes]float64
}

// warpModes is the number of plane waves in a warp field.
const warpModes = 4

// sampleWarp draws a field with wavelengths of 12-24 mm whose gradient
// (the bound maxGradient) is drawn in [0.3, 1]·maxGrad: two points of the
// labyrinth 10 mm apart move relative to each other by up to 10·maxGrad mm,
// while neighbouring cochlear turns, 1 mm apart, shift by at most maxGrad
// mm against each other and keep their bony septum.
func sampleWarp(r *rand.Rand, maxGrad float64) *warpField {
	w := &warpField{}
	for m := 0; m < warpModes; m++ {
		dir := vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.unit()
		lambda := 12 + 12*r.Float64() // mm
		w.k[m] = dir.scale(2 * math.Pi / lambda)
		w.a[m] = vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
		w.phi[m] = 2 * math.Pi * r.Float64()
	}
	g := maxGrad * (0.3 + 0.7*r.Float64())
	f := g / w.maxGradient()
	for m := range w.a {
		w.a[m] = w.a[m].scale(f)
	}
	return w
}

// perturbed returns a copy of w with each amplitude changed by up to frac
// of itself: the small left/right asymmetry of one subject's two ears. The
// gradient bound grows by at most the same fraction.
func (w *warpField) perturbed(r *rand.Rand, frac float64) *warpField {
	if w == nil {
		return nil
	}
	c := *w
	for m := range c.a {
		n := c.a[m].norm()
		d := vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.unit()
		c.a[m] = c.a[m].add(d.scale(n * frac * r.Float64()))
	}
	return &c
}

// at is the displacement at local point v (mm).
func (w *warpField) at(v vec3) vec3 {
	var d vec3
	if w == nil {
		return d
	}
	for m := range w.k {
		d = d.add(w.a[m].scale(math.Sin(w.k[m].dot(v) + w.phi[m])))
	}
	return d
}

// maxGradient bounds the norm of the field's Jacobian (sum over the waves
// of |k|·|a|).
func (w *warpField) maxGradient() float64 {
	if w == nil {
		return 0
	}
	var g float64
	for m := range w.k {
		g += w.k[m].norm() * w.a[m].norm()
	}
	return g
}
