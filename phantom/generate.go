package phantom

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/otoseg/otoseg/volume"
)

// Config chooses one phantom case. The zero value of every optional field
// means "draw it from the centre and the seed".
type Config struct {
	// Centre is the scanning site; the zero value means Centres[0].
	Centre Centre
	// Seed makes the case: same config, same seed, same voxels.
	Seed uint64
	// Pathology is a name from Pathologies, or "" / "none" for normal.
	Pathology string
	// Severity in (0, 1]; 0 draws one from the seed.
	Severity float64
	// Side picks the ear of a single-ear FOV and the ear a unilateral
	// pathology affects: "left", "right" or "" (drawn).
	Side string
	// FOV overrides the centre's FOV kind; Extent (mm) its size.
	FOV    string
	Extent [3]float64
	// Spacing overrides the centre's voxel spacing (mm).
	Spacing [3]float64
	// Anatomy is the population the labyrinths come from; "" is
	// AnatomyNormal.
	Anatomy Anatomy
	// Clean turns off blur, noise and artefacts (HU still partial-volume),
	// for tests that measure geometry.
	Clean bool
	// Workers bounds parallelism; 0 uses GOMAXPROCS. The output does not
	// depend on it.
	Workers int
}

// Ear is the ground truth of one inner ear, written to the JSON sidecar.
// Positions are world LPS mm on the output grid's frame.
type Ear struct {
	Side      string     `json:"side"`
	InFOV     bool       `json:"in_fov"`
	Vestibule [3]float64 `json:"vestibule_world_mm"`
	// Cochlea is the middle of the modiolus; Axis the modiolar axis from
	// base to apex (unit, world).
	Cochlea [3]float64 `json:"cochlea_world_mm"`
	Axis    [3]float64 `json:"modiolar_axis"`
	// Centre is the centroid of the labyrinth (world mm), what a localiser
	// should find.
	Centre [3]float64 `json:"labyrinth_centre_world_mm"`
	// CentreRAS is Centre in NIfTI/nibabel RAS coordinates (x, y negated).
	CentreRAS     [3]float64 `json:"labyrinth_centre_ras_mm"`
	AValue        float64    `json:"a_value_mm"`
	Turns         float64    `json:"turns"`
	CochleaHeight float64    `json:"cochlea_height_mm"`
	CDL           float64    `json:"cdl_lateral_wall_mm"`
	Vestibule3    [3]float64 `json:"vestibule_semi_axes_mm"`
	CanalRadius   [3]float64 `json:"canal_radius_mm"` // anterior, posterior, lateral
	CanalLumen    float64    `json:"canal_lumen_radius_mm"`
	// CanalFlatness is each canal's stretch across its chord (1 circular,
	// below 1 flattened); CanalTwist its out-of-plane bow at mid-arc (mm).
	CanalFlatness [3]float64 `json:"canal_flatness"`
	CanalTwist    [3]float64 `json:"canal_twist_mm"`
	// Size is the ear's overall linear size factor (1 for the population
	// mean): every length above already includes it.
	Size         float64 `json:"size_factor"`
	CanalPresent [3]bool `json:"canal_present"`
	// CanalCentre and CanalNormal place each canal's circle (world mm,
	// unit normal), anterior, posterior, lateral.
	CanalCentre [3][3]float64 `json:"canal_centre_world_mm"`
	CanalNormal [3][3]float64 `json:"canal_normal"`
	VAMidWidth  float64       `json:"vestibular_aqueduct_mid_width_mm"`
	Pathology   string        `json:"pathology"`
	Severity    float64       `json:"severity"`
	// LabelVoxels counts voxels of labels 1..3 nearest this ear; Volume is
	// the labelled labyrinth volume in mm^3 on the output grid.
	LabelVoxels [3]int  `json:"label_voxels"`
	Volume      float64 `json:"labyrinth_volume_mm3"`
}

// Meta is everything known about a generated case.
type Meta struct {
	CaseID string `json:"case_id,omitempty"`
	Seed   uint64 `json:"seed"`
	Body   string `json:"body"`
	// Anatomy is the population the labyrinths were drawn from.
	Anatomy   Anatomy `json:"anatomy,omitempty"`
	Centre    Centre  `json:"centre"`
	Split     string  `json:"split,omitempty"`
	Pathology string  `json:"pathology"`
	Severity  float64 `json:"severity"`
	// PathologyInfo says what the pathology does to the phantom.
	PathologyInfo string     `json:"pathology_info"`
	FOV           string     `json:"fov"`
	Dims          [3]int     `json:"dims"`
	Spacing       [3]float64 `json:"spacing_mm"`
	Origin        [3]float64 `json:"origin_lps_mm"`
	// Rotation (degrees about x, y, z) and Shift (mm) place the patient in
	// the scanner: world = R·anatomical + shift.
	Rotation [3]float64 `json:"patient_rotation_deg"`
	Shift    [3]float64 `json:"patient_shift_mm"`
	Ears     []Ear      `json:"ears"`
	// Coordinates says how to read the world positions.
	Coordinates string `json:"coordinates"`
	// EarsInFOV is "left+right", "left", "right" or "none".
	EarsInFOV string             `json:"ears_in_fov"`
	TissueHU  map[string]float64 `json:"tissue_hu"`
	// ManualSeconds is a simulated manual segmentation time (not measured).
	ManualSeconds          float64 `json:"manual_seconds"`
	ManualSecondsSimulated bool    `json:"manual_seconds_simulated"`
}

// coordinatesNote tells readers of the sidecar which frame positions are in.
const coordinatesNote = "positions *_world_mm are LPS mm (DICOM/ITK, the grid's frame); *_ras_mm are NIfTI/nibabel RAS (x and y negated)"

// seedStream derives the generator for one purpose of one case.
func seedStream(seed uint64, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed^splitmix64(purpose)), splitmix64(purpose^0x6f746f736567)))
}

// Generate makes one case in memory: an int16-valued CT (HU) and a uint8
// label map on the same grid, and the ground truth.
func Generate(cfg Config) (img, label *volume.Volume, meta Meta, err error) {
	return GenerateContext(context.Background(), cfg)
}

// GenerateContext is Generate with cancellation between stages. The stages
// draw from their own random streams (anatomy, pathology, scanner), so a
// change to one leaves the others' draws alone.
func GenerateContext(ctx context.Context, cfg Config) (img, label *volume.Volume, meta Meta, err error) {
	c, err := cfg.centre()
	if err != nil {
		return nil, nil, meta, err
	}
	path := cfg.Pathology
	if path == "" {
		path = Normal
	}
	ra := seedStream(cfg.Seed, 1) // anatomy
	head, ears := sampleEars(ra, cfg.Anatomy)
	cs := samplePathology(seedStream(cfg.Seed, 2), cfg, path) // pathology and placement
	for s := 0; s < 2; s++ {
		if cs.affected[s] {
			applyShape(&ears[s], path, cs.sev)
		}
	}
	// scene in anatomical space
	sc := &scene{}
	addHead(sc, &head)
	var metalPts []vec3
	for s := 0; s < 2; s++ {
		ef := head.frame(s).of(&ears[s])
		var plan *pathologyPlan
		if cs.affected[s] {
			plan = planOverlays(&ears[s], ef, path, cs.sev)
			metalPts = append(metalPts, plan.metalPts...)
		}
		addEar(sc, ef, &ears[s], &head, ra, plan)
	}
	pl, err := placeScan(seedStream(cfg.Seed, 3), c, cfg, &head, cs.side)
	if err != nil {
		return nil, nil, meta, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, meta, err
	}
	workers := defaultWorkers(cfg.Workers)
	hu := huTable(head.boneDense * c.boneScale())
	img, label = rasterize(sc, pl.g, pl.pose, hu, workers)
	if err := ctx.Err(); err != nil {
		return nil, nil, meta, err
	}
	if !cfg.Clean {
		scannerEffects(img, c, cfg.Seed, &head, pl, metalPts, workers)
	}
	quantise(img, -1024, 3071)

	meta = Meta{
		Seed: cfg.Seed, Body: "head", Anatomy: anatomyName(cfg.Anatomy), Centre: c, Pathology: path, Severity: cs.sev,
		PathologyInfo: PathologyInfo[path], FOV: c.FOV, Dims: pl.g.Dims, Spacing: pl.g.Spacing, Origin: pl.g.Origin,
		Rotation: pl.rot, Shift: pl.shift, TissueHU: map[string]float64{}, Coordinates: coordinatesNote,
	}
	for t := Tissue(0); t < numTissues; t++ {
		meta.TissueHU[t.String()] = hu[t]
	}
	meta.Ears = earMeta(ears, cs.affected, path, cs.sev, &head, pl.toWorld, label)
	meta.EarsInFOV = earsInFOV(meta.Ears)
	meta.ManualSeconds = manualSeconds(meta, seedStream(cfg.Seed, 4))
	meta.ManualSecondsSimulated = true
	return img, label, meta, nil
}

// centre returns the scanner centre the case is drawn from, with the
// configuration's overrides, after checking every setting.
func (cfg Config) centre() (Centre, error) {
	c := cfg.Centre
	if c.Name == "" {
		c = Centres[0]
	}
	if cfg.FOV != "" {
		c.FOV = cfg.FOV
		if c.FOV == FOVHead && c.Matrix == 0 {
			c.Matrix = 512
		}
	}
	if cfg.Extent != ([3]float64{}) {
		c.Extent = cfg.Extent
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	if err := ValidAnatomy(cfg.Anatomy); err != nil {
		return c, err
	}
	if err := ValidPathology(cfg.Pathology); err != nil {
		return c, err
	}
	if cfg.Severity < 0 || cfg.Severity > 1 || math.IsNaN(cfg.Severity) {
		return c, fmt.Errorf("severity %g, want 0..1", cfg.Severity)
	}
	for _, s := range cfg.Spacing {
		if s != 0 && !(s >= 0.05 && s <= 5) {
			return c, fmt.Errorf("spacing %v mm out of range 0.05..5", cfg.Spacing)
		}
	}
	switch cfg.Side {
	case "", "left", "right":
	default:
		return c, fmt.Errorf("side %q, want left or right", cfg.Side)
	}
	return c, nil
}

// sampleEars draws the head and the two ears: one subject's labyrinth with
// small left/right asymmetries (the published volumes, canal orientations
// and vestibule sizes show no side difference).
func sampleEars(ra *rand.Rand, anatomy Anatomy) (headShape, [2]earShape) {
	head := sampleHead(ra)
	base := sampleEar(ra, anatomy)
	ears := [2]earShape{base, base}
	for s := 0; s < 2; s++ {
		e := &ears[s]
		e.aValue += 0.08 * ra.NormFloat64()
		e.turns += 0.04 * ra.NormFloat64()
		e.canalR[0] += 0.05 * ra.NormFloat64()
		e.canalR[1] += 0.05 * ra.NormFloat64()
		e.canalR[2] = 0.8 * (e.canalR[0] + e.canalR[1]) / 2 * (1 + 0.02*ra.NormFloat64())
		e.size *= 1 + 0.01*ra.NormFloat64()
		e.warp = base.warp.perturbed(ra, 0.15)
		e.rise = math.Max(minRise, (3.3-e.rzBase-e.rzApex)/e.turns)
	}
	return head, ears
}

// caseSides is what the pathology stream decides: the severity, the side
// the case is about (0 left, 1 right) and which ears the pathology affects.
type caseSides struct {
	sev      float64
	side     int
	affected [2]bool
}

// samplePathology draws the severity, the side and whether a pathology is
// bilateral (congenital malformations often are; otosclerosis and
// labyrinthitis ossificans sometimes).
func samplePathology(rp *rand.Rand, cfg Config, path string) caseSides {
	cs := caseSides{sev: cfg.Severity}
	if path != Normal && cs.sev == 0 {
		cs.sev = math.Round((0.25+0.75*rp.Float64())*100) / 100
	}
	if path == Normal {
		cs.sev = 0
	}
	cs.side = rp.IntN(2)
	switch cfg.Side {
	case "left":
		cs.side = 0
	case "right":
		cs.side = 1
	}
	if path != Normal {
		cs.affected[cs.side] = true
		bil := 0.0
		if congenital[path] {
			bil = 0.6
		} else if path == Otosclerosis || path == LabyrinthitisOssificans {
			bil = 0.3
		}
		if rp.Float64() < bil {
			cs.affected[1-cs.side] = true
		}
	}
	return cs
}

// placement is where the scan lies: the patient's pose and the grid.
type placement struct {
	rot     [3]float64
	shift   vec3
	pose    pose
	toWorld func(vec3) vec3
	g       volume.Geometry
}

// placeScan draws the patient's pose and the scan's spacing, and centres
// the field of view where the technologist aims (the anatomical target seen
// through the pose, give or take).
func placeScan(rs *rand.Rand, c Centre, cfg Config, head *headShape, side int) (placement, error) {
	u := func(m float64) float64 { return m * (2*rs.Float64() - 1) }
	var pl placement
	pl.rot = [3]float64{u(c.Rotation), u(c.Rotation), u(c.Rotation)}
	pl.shift = vec3{u(c.Shift), u(c.Shift), u(c.Shift)}
	pl.pose = pose{rot: rotXYZ(pl.rot[0], pl.rot[1], pl.rot[2]), shift: pl.shift}
	ps := pl.pose
	pl.toWorld = func(p vec3) vec3 { return ps.rot.apply(p).add(ps.shift) }

	sp := [3]float64{c.InPlane[rs.IntN(len(c.InPlane))], 0, c.Slice[rs.IntN(len(c.Slice))]}
	sp[1] = sp[0]
	for a := 0; a < 3; a++ {
		if cfg.Spacing[a] != 0 {
			sp[a] = cfg.Spacing[a]
		}
	}
	ext := c.Extent
	var target vec3
	switch c.FOV {
	case FOVHead:
		if cfg.Extent[0] == 0 {
			ext[0] = float64(c.Matrix) * sp[0]
			ext[1] = float64(c.Matrix) * sp[1]
		}
		target = vec3{0, 8, 4}
	case FOVBilateral:
		target = vec3{0, 3, 0}
	case FOVEar:
		f := head.frame(side)
		target = f.p(vec3{0, -1.5, 0.8})
	}
	target = pl.toWorld(target).add(vec3{u(2), u(2), u(2)})
	var dims [3]int
	for a := 0; a < 3; a++ {
		dims[a] = max(int(math.Round(ext[a]/sp[a])), 8)
	}
	pl.g = volume.NewGeometry(dims, sp)
	for a := 0; a < 3; a++ {
		pl.g.Origin[a] = math.Round((target[a]-float64(dims[a]-1)/2*sp[a])*1000) / 1000
	}
	if err := pl.g.Validate(); err != nil {
		return pl, fmt.Errorf("phantom geometry: %w", err)
	}
	return pl, nil
}

// scannerEffects turns the ideal HU image into what centre c's scanner
// reconstructs: its point spread, metal streaks, the Hounsfield bar, its
// calibration and its noise.
func scannerEffects(img *volume.Volume, c Centre, seed uint64, head *headShape, pl placement, metalPts []vec3, workers int) {
	blur(img, [3]float64{c.PSF[0], c.PSF[0], c.PSF[1]}, workers)
	var wmetal []vec3
	for _, p := range metalPts {
		wmetal = append(wmetal, pl.toWorld(p))
	}
	metalStreaks(img, wmetal, c.Metal, seed, workers)
	houndsfieldBar(img, pl.toWorld(head.frame(1).p(vec3{-6, -4, 0})), pl.toWorld(head.frame(0).p(vec3{-6, -4, 0})), c.Bar)
	for i, x := range img.Data {
		img.Data[i] = x*float32(c.Gain) + float32(c.Offset)
	}
	addNoise(img, seed^0x5eed, c.Noise, c.NoiseCorr, workers)
}

// earsInFOV says which ears the field of view holds: "none", "left",
// "right" or "left+right".
func earsInFOV(ears []Ear) string {
	var in []string
	for _, e := range ears {
		if e.InFOV {
			in = append(in, e.Side)
		}
	}
	switch len(in) {
	case 0:
		return "none"
	case 1:
		return in[0]
	}
	return "left+right"
}

// earMeta describes both ears in world coordinates and measures the
// labelled volume nearest each.
func earMeta(ears [2]earShape, affected [2]bool, path string, sev float64, head *headShape, toWorld func(vec3) vec3, label *volume.Volume) []Ear {
	out := make([]Ear, 2)
	var centres [2]vec3
	for s := 0; s < 2; s++ {
		e := &ears[s]
		ef := head.frame(s).of(e)
		side := "left"
		if s == 1 {
			side = "right"
		}
		mid := e.base.add(e.axis.scale(e.height() / 2))
		// directions go through the frame's rotation only
		dir := func(v vec3) vec3 { return toWorld(ef.c.add(ef.d(v))).sub(toWorld(ef.c)).unit() }
		aval := e.aValueOf()
		turns, height, cdl := e.turns, e.height(), e.lateralWallLength()
		if e.cystic > 0 {
			aval, turns, height, cdl = 2*e.cystic, 0, 1.6*e.cystic, 0
		}
		if e.cysticAp > 0 {
			turns = 1.5
		}
		mm := ef.mm
		ev := Ear{
			Side: side, Vestibule: toWorld(ef.p(vec3{})), Cochlea: toWorld(ef.p(mid)), Axis: dir(e.axis),
			AValue: round3(mm(aval)), Turns: round3(turns), CochleaHeight: round3(mm(height)), CDL: round3(mm(cdl)),
			Vestibule3: e.vest.scale(ef.scl()), CanalLumen: round3(mm(e.canalLumen)), CanalPresent: e.present,
			VAMidWidth: round3(mm(2 * e.vaRadius)), Pathology: Normal, Size: round3(ef.scl()),
		}
		if affected[s] {
			ev.Pathology, ev.Severity = path, sev
		}
		for c, cg := range e.canals() {
			ev.CanalCentre[c] = toWorld(ef.p(cg.c))
			ev.CanalNormal[c] = dir(cg.n)
			ev.CanalRadius[c] = round3(mm(cg.meanRadius()))
			ev.CanalFlatness[c] = round3(cg.k)
			ev.CanalTwist[c] = round3(mm(cg.twist))
		}
		out[s] = ev
		centres[s] = toWorld(ef.p(vec3{-0.5, -2.0, 0.0}))
	}
	// assign label voxels to the nearer ear; accumulate centroids
	var sum [2]vec3
	g := label.Geometry
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				l := label.Data[g.Index(i, j, k)]
				if l <= 0 {
					continue
				}
				p := vec3(g.World(float64(i), float64(j), float64(k)))
				s := 0
				if p.sub(centres[1]).norm() < p.sub(centres[0]).norm() {
					s = 1
				}
				if li := int(l); li >= 1 && li <= 3 {
					out[s].LabelVoxels[li-1]++
				}
				sum[s] = sum[s].add(p)
			}
		}
	}
	vox := g.Spacing[0] * g.Spacing[1] * g.Spacing[2]
	for s := 0; s < 2; s++ {
		n := out[s].LabelVoxels[0] + out[s].LabelVoxels[1] + out[s].LabelVoxels[2]
		out[s].Volume = round3(float64(n) * vox)
		if n > 0 {
			c := sum[s].scale(1 / float64(n))
			out[s].Centre = [3]float64{round3(c[0]), round3(c[1]), round3(c[2])}
		} else {
			out[s].Centre = centres[s]
		}
		out[s].CentreRAS = [3]float64{-out[s].Centre[0], -out[s].Centre[1], out[s].Centre[2]}
		// an ear is in the FOV when most of its expected labyrinth is
		out[s].InFOV = out[s].Volume > 40
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// manualSeconds simulates how long an expert would take to segment the case
// by hand: per labelled ear about 20 minutes, more for malformations and
// for many thin slices. It is recorded as simulated.
func manualSeconds(m Meta, r *rand.Rand) float64 {
	var t float64
	for _, e := range m.Ears {
		if !e.InFOV {
			continue
		}
		base := 1200 * math.Exp(0.25*r.NormFloat64())
		if e.Pathology != Normal {
			base *= 1.35
		}
		// thinner slices mean more slices to contour
		base *= math.Sqrt(0.6 / m.Spacing[2])
		t += base
	}
	return math.Round(t)
}

// anatomyName is a with "" spelled out as AnatomyNormal.
func anatomyName(a Anatomy) Anatomy {
	if a == "" {
		return AnatomyNormal
	}
	return a
}
