package phantom

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// NonEarConfig chooses a CT of another body part.
type NonEarConfig struct {
	Seed    uint64
	Centre  Centre // scanner protocol; zero means Centres[0]
	Spacing [3]float64
	Workers int
}

// NonEar makes a CT without any inner ear: an upper abdomen (body wall,
// fat, liver, kidneys, vertebra with its canal, ribs, aorta, bowel gas),
// scanned with a centre's protocol over a 160 x 120 x 48 mm field, and an
// all-zero label map. It tests that a localiser or segmenter answers "no
// ear" instead of labelling dense bone with fluid-filled canals.
func NonEar(cfg NonEarConfig) (img, label *volume.Volume, meta Meta, err error) {
	c := cfg.Centre
	if c.Name == "" {
		c = Centres[0]
	}
	if err := c.Validate(); err != nil {
		return nil, nil, meta, err
	}
	r := seedStream(cfg.Seed, 11)
	g := func(m, s float64) float64 { return m + s*r.NormFloat64() }
	sc := &scene{}
	w, d := g(150, 8), g(110, 6)
	sc.add(ellipsoid{c: vec3{0, 0, 0}, a: vec3{w, d, 400}, rot: ident3()}, Soft, 0)
	sc.add(ellipsoid{c: vec3{0, 0, 0}, a: vec3{w - 3, d - 3, 400}, rot: ident3()}, Fat, 0)
	sc.add(ellipsoid{c: vec3{0, 0, 0}, a: vec3{w - 18, d - 16, 400}, rot: ident3()}, Soft, 0)
	sc.add(ellipsoid{c: vec3{0, 0, 0}, a: vec3{w - 26, d - 24, 400}, rot: ident3()}, Fat, 0)
	// liver (patient's right = -x), kidneys, aorta, bowel
	sc.add(ellipsoid{c: vec3{-55, -5, 0}, a: vec3{70, 60, 90}, rot: rotXYZ(0, 0, 20)}, Blood, 0)
	for _, sx := range []float64{-1, 1} {
		sc.add(ellipsoid{c: vec3{sx * 55, 45, -10}, a: vec3{28, 22, 55}, rot: rotXYZ(0, 0, sx*25)}, Soft, 0)
		sc.add(ellipsoid{c: vec3{sx * 48, 45, -10}, a: vec3{9, 7, 25}, rot: rotXYZ(0, 0, sx*25)}, Fluid, 0) // renal pelvis
	}
	sc.add(sphere{c: vec3{-8, 32, 0}, r: 11}, Blood, 0)
	for i := 0; i < 14; i++ {
		p := vec3{g(25, 25), g(-30, 20), g(0, 20)}
		sc.add(ellipsoid{c: p, a: vec3{g(12, 3), g(9, 2), g(20, 4)}, rot: rotXYZ(0, 0, 40*r.NormFloat64())}, Soft, 0)
		sc.add(sphere{c: p.add(vec3{0, -3, 0}), r: math.Max(2, g(6, 2))}, Air, 0)
	}
	// vertebral body (cortical shell, cancellous core), pedicles, spinal canal
	sc.add(ellipsoid{c: vec3{0, 55, 0}, a: vec3{22, 17, 400}, rot: ident3()}, Cortical, 0)
	sc.add(ellipsoid{c: vec3{0, 55, 0}, a: vec3{20, 15, 400}, rot: ident3()}, Marrow, 0)
	sc.add(obox{c: vec3{0, 85, 0}, h: vec3{18, 14, 400}, rot: ident3()}, Cortical, 0)
	sc.add(ellipsoid{c: vec3{0, 84, 0}, a: vec3{10, 8, 400}, rot: ident3()}, Fluid, 0)
	// ribs: bony tubes round the body wall
	for _, z := range []float64{-30, -5, 20, 45} {
		for _, sx := range []float64{-1, 1} {
			var ps []vec3
			var rs []float64
			for a := -0.2; a <= 2.2; a += 0.2 {
				ps = append(ps, vec3{sx * (w - 30) * math.Sin(a), (d - 30) * math.Cos(a+0.6), z + 8*a})
				rs = append(rs, 4.5)
			}
			sc.addTube(round(ps, rs), Cortical, 0)
			for i := range rs {
				rs[i] = 3
			}
			sc.addTube(round(ps, rs), Marrow, 0)
		}
	}
	rs := seedStream(cfg.Seed, 12)
	u := func(m float64) float64 { return m * (2*rs.Float64() - 1) }
	rot := [3]float64{u(c.Rotation), u(c.Rotation), u(c.Rotation)}
	ps := pose{rot: rotXYZ(rot[0], rot[1], rot[2]), shift: vec3{u(c.Shift), u(c.Shift), u(c.Shift)}}
	sp := [3]float64{c.InPlane[rs.IntN(len(c.InPlane))], 0, c.Slice[rs.IntN(len(c.Slice))]}
	sp[1] = sp[0]
	for a := 0; a < 3; a++ {
		if cfg.Spacing[a] > 0 {
			sp[a] = cfg.Spacing[a]
		}
		if !(sp[a] >= 0.05 && sp[a] <= 5) {
			return nil, nil, meta, fmt.Errorf("spacing %v mm out of range", sp)
		}
	}
	ext := [3]float64{160, 120, 48}
	var dims [3]int
	for a := 0; a < 3; a++ {
		dims[a] = max(8, int(math.Round(ext[a]/sp[a])))
	}
	geo := volume.NewGeometry(dims, sp)
	target := vec3{-20 + u(5), 20 + u(5), u(5)}
	for a := 0; a < 3; a++ {
		geo.Origin[a] = math.Round((target[a]-float64(dims[a]-1)/2*sp[a])*1000) / 1000
	}
	workers := defaultWorkers(cfg.Workers)
	hu := huTable(1)
	img, label = rasterize(sc, geo, ps, hu, workers)
	blur(img, [3]float64{c.PSF[0], c.PSF[0], c.PSF[1]}, workers)
	for i, x := range img.Data {
		img.Data[i] = x*float32(c.Gain) + float32(c.Offset)
	}
	addNoise(img, cfg.Seed^0x5eed, c.Noise, c.NoiseCorr, workers)
	quantise(img, -1024, 3071)
	for i := range label.Data {
		label.Data[i] = 0
	}
	meta = Meta{
		Seed: cfg.Seed, Body: BodyOther, Centre: c, Pathology: Normal, PathologyInfo: "no inner ear: abdomen-like CT",
		FOV: "abdomen", Dims: dims, Spacing: sp, Origin: geo.Origin, Rotation: rot, Shift: ps.shift,
		Ears: []Ear{}, EarsInFOV: "none", Coordinates: coordinatesNote, TissueHU: map[string]float64{}, ManualSecondsSimulated: true,
	}
	for t := Tissue(0); t < numTissues; t++ {
		meta.TissueHU[t.String()] = hu[t]
	}
	return img, label, meta, nil
}
