package segment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/infer"
	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/qc"
	"github.com/otoseg/otoseg/volume"
)

// ErrNoEar reports a scan in which no inner ear was found: a blank volume,
// a CT of another body part, or a field of view that misses the temporal
// bones. It is an answer, not a failure of the software.
var ErrNoEar = errors.New("no inner ear found in this scan (is it a head or temporal-bone CT that includes the petrous bone?)")

// Options tune segmentation.
type Options struct {
	// Mirror enables mirroring test-time augmentation (8x slower).
	Mirror bool
	// MinEarVolumeMM3 rejects an ear whose predicted labyrinth is smaller:
	// the localiser saw something, the fine network found no labyrinth.
	MinEarVolumeMM3 float64
	// ForegroundThreshold overrides the plan's: a voxel is labyrinth when
	// its summed foreground probability reaches it (0 keeps the plan's).
	ForegroundThreshold float64
	// KeepFarPieces turns off the clean-up's anatomy rule (MaxPieceGapMM,
	// MaxReachMM): every labyrinth component stays, wherever it lies. For
	// measuring what the rule does, or for anatomy it was not measured on.
	KeepFarPieces bool
	// AssumeOffset lets a scan whose values look like CT stored with an
	// unsigned +1024 offset and no rescale (air near 0, bone above +1700)
	// be segmented after subtracting 1024; without it such a scan is
	// refused with ErrNotCT. It changes nothing in a scan already in HU,
	// so it is safe to set for a batch known to come from such an export.
	AssumeOffset bool
}

// DefaultOptions are the settings `otoseg segment` uses.
func DefaultOptions() Options { return Options{MinEarVolumeMM3: 20} }

// Ear is what segmentation found on one side.
type Ear struct {
	Side string `json:"side"`
	// CentreMM is the labyrinth's bounding-box centre (LPS mm).
	CentreMM [3]float64 `json:"centre_lps_mm"`
	// VolumesMM3 per structure ("cochlea", "vestibule", "semicircular
	// canals", and "labyrinth" for all three).
	VolumesMM3 map[string]float64 `json:"volumes_mm3"`
	// LocatorScore is the localiser's confidence (summed probability).
	LocatorScore float64 `json:"locator_score"`
	// BoxLo and BoxHi bound the ear's labels in the scan's voxel indices.
	BoxLo [3]int `json:"box_lo_voxel"`
	BoxHi [3]int `json:"box_hi_voxel"`
	// QC is the quality-control verdict, QCSignals what it was made of.
	QC        *qc.Result  `json:"qc,omitempty"`
	QCSignals *qc.Signals `json:"qc_signals,omitempty"`
}

// Result is a segmentation in the input scan's geometry.
type Result struct {
	Labels *volume.Volume `json:"-"`
	Ears   []Ear          `json:"ears"`
	// Seconds per stage and in total (excluding file reading and writing,
	// which the caller adds).
	Stages  map[string]float64 `json:"stage_seconds"`
	Seconds float64            `json:"seconds"`
	// Input is what the input check found (non-finite voxels, intensity
	// percentiles, an offset corrected).
	Input InputCheck `json:"input"`
}

// Segment labels the inner ears of img. It returns ErrNoEar when the ear
// search finds none, ErrNoLabyrinth (also an ErrNoEar) when it finds ears
// but no labyrinth in them, and ErrNotVolume or ErrNotCT for input that is
// not a 3-D CT in HU (see CheckInput). img is never changed: a scan with
// NaN voxels or an offset to correct is copied first.
func (m *Model) Segment(ctx context.Context, img *volume.Volume, o Options) (*Result, error) {
	rs, err := m.SegmentAt(ctx, img, o, []float64{o.ForegroundThreshold})
	if err != nil {
		return nil, err
	}
	if len(rs[0].Ears) == 0 {
		return nil, ErrNoLabyrinth
	}
	return rs[0], nil
}

// SegmentAt segments img once per foreground threshold (0 keeps the
// plan's), localising and predicting once for all of them: result i is
// what Segment gives with o.ForegroundThreshold = thresholds[i]. A result
// may hold no ear (its labels are then all background); ErrNoEar means the
// localiser found none at all.
func (m *Model) SegmentAt(ctx context.Context, img *volume.Volume, o Options, thresholds []float64) ([]*Result, error) {
	if err := img.Check(); err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	for _, tau := range append([]float64{o.ForegroundThreshold}, thresholds...) {
		if !(tau >= 0 && tau <= 1) {
			return nil, fmt.Errorf("segment: %w: foreground threshold %g is not a probability (0 keeps the model's, else 0 < threshold <= 1)", ErrInvalidOption, tau)
		}
	}
	check, err := CheckInput(img, o)
	if err != nil {
		return nil, err
	}
	if check.needsApply() {
		cp := *img
		cp.Data = slices.Clone(img.Data)
		check.Apply(&cp)
		img = &cp
	}
	return m.segmentChecked(ctx, img, o, thresholds, check)
}

// segmentChecked is SegmentAt on a scan CheckInput passed and Apply
// prepared; check goes into the results.
func (m *Model) segmentChecked(ctx context.Context, img *volume.Volume, o Options, thresholds []float64, check InputCheck) ([]*Result, error) {
	t0 := time.Now()
	stages := map[string]float64{}
	lap := func(name string, since time.Time) time.Time {
		now := time.Now()
		stages[name] += now.Sub(since).Seconds()
		return now
	}
	cands, err := locate.Find(ctx, infer.UNet{Net: m.Locator}, img, m.Plan.Locator)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, ErrNoEar
	}
	t := lap("locate", t0)
	type choice struct {
		pr    *earPrediction
		score float64
	}
	var chosen []choice
	for _, side := range sides(cands) {
		// The localiser is coarse and may score a look-alike above a faint
		// labyrinth: when a side has several candidates, the fine network
		// predicts each and the one it finds most labyrinth in wins.
		var best *earPrediction
		var bestScore, bestEvidence float64
		for _, c := range cands {
			if c.Side != side {
				continue
			}
			pr, err := m.predictEar(ctx, img, c.Ear, o)
			if err != nil {
				return nil, err
			}
			if ev := pr.evidence(); best == nil || ev > bestEvidence {
				best, bestScore, bestEvidence = pr, c.Score, ev
			}
		}
		chosen = append(chosen, choice{best, bestScore})
	}
	lap("predict", t)
	// The scan is not read past this point: only its grid. Keeping the
	// grid alone lets SegmentFile's scan (which nothing else holds) be
	// collected before the label maps are allocated.
	grid := img.Geometry
	img = nil
	if grid.Len() >= reuseVoxels {
		// Without a collection now, the label map would take fresh
		// pages from the OS while the scan's lie unused until the
		// next cycle: on a whole head, 200 MB more resident and 0.3-0.4
		// s of page faults (measured on the shared 2-core VM) when the
		// label map is first written and read.
		runtime.GC()
	}
	base := time.Since(t0).Seconds()
	qcModel, err := qc.Default()
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(thresholds))
	for i, tau := range thresholds {
		ts := time.Now()
		res := &Result{Stages: maps.Clone(stages), Labels: volume.New(grid, volume.Uint8), Input: check}
		oi := o
		oi.ForegroundThreshold = tau
		for _, c := range chosen {
			ear, ok, err := m.paste(res.Labels, c.pr, oi)
			if err != nil {
				return nil, err
			}
			if ok {
				ear.LocatorScore = c.score
				if err := m.assessEar(&ear, res.Labels, c.pr, m.threshold(oi), qcModel); err != nil {
					return nil, err
				}
				res.Ears = append(res.Ears, ear)
			}
		}
		res.Stages["paste"] = time.Since(ts).Seconds()
		res.Seconds = base + res.Stages["paste"]
		out[i] = res
	}
	return out, nil
}

// reuseVoxels is the scan size from which segmentChecked collects the
// scan before allocating the label map (see there): 16 M voxels, a
// 64 MB label map, where a collection's few milliseconds buy much more.
const reuseVoxels = 16 << 20

// earPrediction is the fine network's output on one ear's region.
type earPrediction struct {
	side ear.Side
	grid volume.Geometry
	prob []float32 // C planes over grid
	// mirrorGap is the QC signal qc.Signals.MirrorGap.
	mirrorGap float64
}

// predictEar cuts the region of interest, predicts it, and re-centres once
// when the labyrinth touches the region's border (the localiser is coarse).
func (m *Model) predictEar(ctx context.Context, img *volume.Volume, e ear.Ear, o Options) (*earPrediction, error) {
	p := m.Plan
	C := m.Seg.Config().NumClasses
	dims := p.ROIDims()
	centre := e.Centre
	var pr *earPrediction
	var w infer.SlidingWindow
	var cut *volume.Volume
	var lo, hi [3]int // the labyrinth's box in the final region
	var ok bool
	for attempt := 0; attempt < 2; attempt++ {
		g := ear.Grid(centre, e.Side, dims, p.TargetSpacing)
		var err error
		cut, err = volume.ResampleToFill(img, g, volume.Linear, locate.AirHU)
		if err != nil {
			return nil, fmt.Errorf("segment: region of interest: %w", err)
		}
		p.Intensity.Normalize(cut.Data)
		w = infer.SlidingWindow{Patch: p.PatchSize, Mirror: o.Mirror}
		prob, err := w.Probabilities(ctx, infer.UNet{Net: m.Seg}, cut.Data, dims, C)
		if err != nil {
			return nil, fmt.Errorf("segment: %w", err)
		}
		pr = &earPrediction{side: e.Side, grid: g, prob: prob}
		lo, hi, ok = foregroundBox(prob, C, dims)
		if !ok || attempt == 1 {
			break
		}
		touches := false
		for a := 0; a < 3; a++ {
			touches = touches || lo[a] <= 1 || hi[a] >= dims[a]-2
		}
		if !touches {
			break
		}
		centre = g.World(float64(lo[0]+hi[0])/2, float64(lo[1]+hi[1])/2, float64(lo[2]+hi[2])/2)
	}
	gap, err := mirrorGap(&w, infer.UNet{Net: m.Seg}, cut.Data, pr.prob, dims, C, lo, hi, ok)
	if err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	pr.mirrorGap = gap
	return pr, nil
}

// sides lists the sides of the candidates in the order they first appear
// (the most confident side first).
func sides(cands []locate.Candidate) []ear.Side {
	var out []ear.Side
	for _, c := range cands {
		if !slices.Contains(out, c.Side) {
			out = append(out, c.Side)
		}
	}
	return out
}

// evidence is the expected number of labyrinth voxels in the prediction:
// the summed foreground probability over the region. Regions share one
// grid size, so it compares candidates of one side.
func (pr *earPrediction) evidence() float64 {
	n := pr.grid.Len()
	var sum float64
	for _, b := range pr.prob[:n] {
		sum += float64(1 - b)
	}
	return sum
}

// foregroundBox is the index box of voxels whose background probability is
// below one half.
func foregroundBox(prob []float32, C int, dims [3]int) (lo, hi [3]int, ok bool) {
	lo = dims
	hi = [3]int{-1, -1, -1}
	nx, ny := dims[0], dims[1]
	for i, b := range prob[:len(prob)/C] {
		if b >= 0.5 {
			continue
		}
		x := [3]int{i % nx, i / nx % ny, i / (nx * ny)}
		for a := 0; a < 3; a++ {
			lo[a] = min(lo[a], x[a])
			hi[a] = max(hi[a], x[a])
		}
		ok = true
	}
	return lo, hi, ok
}

// paste writes one ear's prediction into out (the scan's grid): every scan
// voxel inside the region whose trilinearly interpolated foreground
// probability reaches the threshold takes the most likely structure. Then the
// labyrinth is cleaned within the region (cleanLabyrinth): components that
// lie too far from the largest or reach beyond one labyrinth's extent are
// dropped, and enclosed holes filled. It reports false when too little
// labyrinth remains to be an ear.
func (m *Model) paste(out *volume.Volume, pr *earPrediction, o Options) (Ear, bool, error) {
	C := m.Seg.Config().NumClasses
	lo, hi, ok := boxInScan(out.Geometry, pr.grid)
	if !ok {
		return Ear{}, false, nil
	}
	bd := [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	tau := float32(m.threshold(o))
	n := bd[0] * bd[1] * bd[2]
	lab := make([]uint8, n)
	fgBest := make([]uint8, n) // most likely non-background class
	gd := pr.grid.Dims
	plane := gd[0] * gd[1] * gd[2]
	probs := make([]float32, C)
	for k := 0; k < bd[2]; k++ {
		for j := 0; j < bd[1]; j++ {
			for i := 0; i < bd[0]; i++ {
				w := out.World(float64(lo[0]+i), float64(lo[1]+j), float64(lo[2]+k))
				ci := pr.grid.ContinuousIndex(w)
				if !interpolate(pr.prob, gd, plane, C, ci, probs) {
					continue
				}
				// Labyrinth or not first (summed foreground probability
				// against the threshold), then which structure.
				bf := 1
				for c := 2; c < C; c++ {
					if probs[c] > probs[bf] {
						bf = c
					}
				}
				idx := i + bd[0]*(j+bd[1]*k)
				fgBest[idx] = uint8(bf)
				if 1-probs[0] >= tau {
					lab[idx] = uint8(bf)
				}
			}
		}
	}
	clean, err := cleanLabyrinth(lab, fgBest, bd, out.Spacing, ruleFor(o))
	if err != nil {
		return Ear{}, false, err
	}
	voxMM3 := out.Spacing[0] * out.Spacing[1] * out.Spacing[2]
	counts := make([]int, C)
	for _, v := range clean {
		counts[v]++
	}
	total := 0
	for c := 1; c < C; c++ {
		total += counts[c]
	}
	if float64(total)*voxMM3 < o.MinEarVolumeMM3 {
		return Ear{}, false, nil
	}
	ear := Ear{Side: pr.side.String(), VolumesMM3: map[string]float64{"labyrinth": float64(total) * voxMM3}}
	for c := 1; c < C; c++ {
		name := m.Plan.Labels[c]
		if name == "" {
			name = fmt.Sprintf("label %d", c)
		}
		ear.VolumesMM3[name] = float64(counts[c]) * voxMM3
	}
	bl, bh := [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, [3]int{-1, -1, -1}
	for k := 0; k < bd[2]; k++ {
		for j := 0; j < bd[1]; j++ {
			for i := 0; i < bd[0]; i++ {
				v := clean[i+bd[0]*(j+bd[1]*k)]
				if v == 0 {
					continue
				}
				x := [3]int{lo[0] + i, lo[1] + j, lo[2] + k}
				for a := 0; a < 3; a++ {
					bl[a], bh[a] = min(bl[a], x[a]), max(bh[a], x[a])
				}
				// Never overwrite the other ear's labels.
				if d := &out.Data[out.Index(x[0], x[1], x[2])]; *d == 0 {
					*d = float32(v)
				}
			}
		}
	}
	ear.CentreMM = out.World(float64(bl[0]+bh[0])/2, float64(bl[1]+bh[1])/2, float64(bl[2]+bh[2])/2)
	ear.BoxLo, ear.BoxHi = bl, bh
	return ear, true, nil
}

// threshold is the foreground threshold o and the plan give.
func (m *Model) threshold(o Options) float64 {
	tau := m.Plan.ForegroundThreshold
	if o.ForegroundThreshold > 0 {
		tau = o.ForegroundThreshold
	}
	if tau <= 0 {
		tau = 0.5
	}
	return tau
}

// boxInScan returns the index box of scan voxels that may fall inside grid.
func boxInScan(scan, grid volume.Geometry) (lo, hi [3]int, ok bool) {
	lo = [3]int{math.MaxInt, math.MaxInt, math.MaxInt}
	hi = [3]int{math.MinInt, math.MinInt, math.MinInt}
	d := grid.Dims
	for c := 0; c < 8; c++ {
		corner := [3]float64{-0.5, -0.5, -0.5}
		for a := 0; a < 3; a++ {
			if c&(1<<a) != 0 {
				corner[a] = float64(d[a]) - 0.5
			}
		}
		ci := scan.ContinuousIndex(grid.World(corner[0], corner[1], corner[2]))
		for a := 0; a < 3; a++ {
			lo[a] = min(lo[a], int(math.Floor(ci[a])))
			hi[a] = max(hi[a], int(math.Ceil(ci[a])))
		}
	}
	for a := 0; a < 3; a++ {
		lo[a] = max(lo[a], 0)
		hi[a] = min(hi[a], scan.Dims[a]-1)
		if lo[a] > hi[a] {
			return lo, hi, false
		}
	}
	return lo, hi, true
}

// interpolate fills p with the class probabilities at continuous index ci
// of a grid of dims, or reports false outside it (beyond half a voxel).
func interpolate(prob []float32, dims [3]int, plane, C int, ci [3]float64, p []float32) bool {
	var i0 [3]int
	var f [3]float32
	for a := 0; a < 3; a++ {
		if ci[a] < -0.5 || ci[a] > float64(dims[a])-0.5 {
			return false
		}
		x := min(max(ci[a], 0), float64(dims[a]-1))
		fl := math.Floor(x)
		i0[a] = int(fl)
		f[a] = float32(x - fl)
		if i0[a] == dims[a]-1 {
			i0[a]--
			f[a] = 1
			if dims[a] == 1 {
				i0[a], f[a] = 0, 0
			}
		}
	}
	nx, ny := dims[0], dims[1]
	base := i0[0] + nx*(i0[1]+ny*i0[2])
	sx, sy, sz := 1, nx, nx*ny
	if dims[0] == 1 {
		sx = 0
	}
	if dims[1] == 1 {
		sy = 0
	}
	if dims[2] == 1 {
		sz = 0
	}
	for c := 0; c < C; c++ {
		q := prob[c*plane:]
		c00 := q[base]*(1-f[0]) + q[base+sx]*f[0]
		c10 := q[base+sy]*(1-f[0]) + q[base+sy+sx]*f[0]
		c01 := q[base+sz]*(1-f[0]) + q[base+sz+sx]*f[0]
		c11 := q[base+sz+sy]*(1-f[0]) + q[base+sz+sy+sx]*f[0]
		p[c] = (c00*(1-f[1])+c10*f[1])*(1-f[2]) + (c01*(1-f[1])+c11*f[1])*f[2]
	}
	return true
}

// The clean-up's rule was measured on the reference labels of three phantom
// cohorts of 18 cases each, 96 ears (otoseg phantom --out DIR --cases 18
// --seed 99 --pathological 1 --pathology P, for P = labyrinthitis_ossificans,
// scc_aplasia, cochlear_hypoplasia; 26-connected components of labels 1-3
// within 20 mm of each ear), and on 175 single-ear phantoms from
// phantom.Generate (FOV 32 x 32 x 30 mm, centres A-E x severity 0.2-1.0 x
// seven pathologies: those three, scc_dysplasia, ip1, ip2 and none).
// Labyrinthitis ossificans breaks the reference labyrinth: a bone plug cuts
// off the cochlea's upper turns (25 of the cohort's 32 ossificans ears, 27
// pieces; all 25 generated ones), and ossified canal segments leave bits of
// lumen. At 1 mm slices (centre E) a thin canal also rasterises with a
// single voxel cut off, 1.1-1.8 mm from the rest, in every pathology.
//
// So there is no size rule: the pieces are 0.07-16% of the largest
// component (single voxels to 490), and the former rule, which dropped every
// piece under a fifth of the largest, dropped them all. The built-in model
// predicts the ossified cochlea's pieces, and on the ossificans cohort above
// the former rule took 13 of 32 ears' HD95 to 2.6-4.6 mm (mean 1.95 mm, Dice
// 0.900); the anatomy rule keeps them: 0.25-0.50 mm (mean 0.39 mm, Dice
// 0.914). On the aplasia and hypoplasia cohorts, where no reference piece
// exists, keeping small near pieces cost 0.001 and 0.000 Dice.

// MaxPieceGapMM is how far (voxel centre to voxel centre, the nearest
// pair) a secondary labyrinth component may lie from the largest and still
// be kept. A labyrinth is one organ: what ossification cuts off lies 1.9-4.9
// mm from the rest on the reference labels (median 3.0 mm; 4.5 mm at most
// on the generated ones), while the false positives that drove HD95 to
// 4.5-6.5 mm on real anatomy (carotid and jugular region) lay 5-15 mm away.
// 6 mm is 1.1 mm above the largest gap measured; the nearest of those false
// positives (5-6 mm) go only when they also break MaxReachMM.
const MaxPieceGapMM = 6.0

// MaxReachMM bounds how far any voxel of a secondary component may lie
// from the largest component's centroid: a piece reaching farther would make
// the labyrinth bigger than one is (its bony extent is about 13.5 x 14.7 x
// 13.6 mm, SD about 1 mm per axis). On the reference labels the farthest
// labelled voxel lies 10.1 mm from the largest component's centroid
// (ossified pieces 4.6-10.1 mm; the largest components themselves reach 10.0
// mm); 13 mm leaves 2.9 mm, room for a labyrinth three SD above the mean
// extent.
const MaxReachMM = 13.0

// SpeckGapMM and SpeckMM3 drop specks: a secondary component more than
// SpeckGapMM from the largest and smaller than SpeckMM3 is noise, not a
// piece of labyrinth. The stage-6 baseline left one such speck on the
// seed-2027 validation cohort (5 voxels, 0.09 mm³, 4.1 mm from the
// reference, beside a cochlear implant's lead); the reference labels' own
// pieces that lie farther than 3 mm are ossified turns of several mm³,
// and the single-voxel canal pieces that 1 mm slices cut off lie 1.1-1.8
// mm from the rest (TestCleanLabyrinthKeepsReferenceAnatomy keeps them all).
const (
	SpeckGapMM = 3.0
	SpeckMM3   = 1.0
)

// pieceRule decides which secondary components of a labyrinth survive the
// clean-up: those at most maxGapMM from the largest with every voxel
// within maxReachMM of its centroid, and not a speck (smaller than
// speckMM3 and farther than speckGapMM).
type pieceRule struct {
	maxGapMM, maxReachMM float64 // +Inf turns the limit off
	speckGapMM, speckMM3 float64 // speckMM3 0 turns the speck rule off
}

// ruleFor is the clean-up o asks for.
func ruleFor(o Options) pieceRule {
	if o.KeepFarPieces {
		return pieceRule{maxGapMM: math.Inf(1), maxReachMM: math.Inf(1)}
	}
	return pieceRule{maxGapMM: MaxPieceGapMM, maxReachMM: MaxReachMM, speckGapMM: SpeckGapMM, speckMM3: SpeckMM3}
}

// cleanLabyrinth keeps the largest 26-connected component of the labyrinth
// (labels > 0) and the other components rule keeps (keepPieces: near enough
// to it and within one labyrinth's reach), then fills enclosed holes with
// the most likely foreground class. spacing is the voxel size in mm along
// the three index axes.
func cleanLabyrinth(lab, fgBest []uint8, dims [3]int, spacing [3]float64, rule pieceRule) ([]uint8, error) {
	m := morph.NewMask(dims)
	for i, v := range lab {
		m.Data[i] = v > 0
	}
	comps, err := morph.Label(m, morph.Conn26)
	if err != nil {
		return nil, err
	}
	out := make([]uint8, len(lab))
	if comps.N == 0 {
		return out, nil
	}
	keep, err := keepPieces(comps, spacing, rule)
	if err != nil {
		return nil, err
	}
	for i, c := range comps.Labels {
		if keep[c] {
			out[i] = lab[i]
		}
	}
	for i := range m.Data {
		m.Data[i] = out[i] > 0
	}
	filled, err := morph.FillHoles(m, morph.Conn6)
	if err != nil {
		return nil, err
	}
	for i, f := range filled.Data {
		if f && out[i] == 0 {
			out[i] = fgBest[i]
		}
	}
	return out, nil
}

// keepPieces says, per component label, whether the clean-up keeps it: the
// largest always; another when its nearest voxel lies at most
// rule.maxGapMM from the largest and every voxel within rule.maxReachMM of
// the largest's centroid. Distances are in mm between voxel centres, the
// gap from the exact distance transform of the largest component, so
// anisotropic voxels count right. keep[0], the background, is false.
func keepPieces(comps *morph.Components, spacing [3]float64, rule pieceRule) ([]bool, error) {
	largest := comps.Largest()
	keep := make([]bool, comps.N+1)
	for c := 1; c <= comps.N; c++ {
		keep[c] = true
	}
	if comps.N < 2 || (math.IsInf(rule.maxGapMM, 1) && math.IsInf(rule.maxReachMM, 1)) {
		return keep, nil
	}
	dims := comps.Dims
	nx, ny := dims[0], dims[1]
	main := morph.NewMask(dims)
	var centroid [3]float64
	for i, c := range comps.Labels {
		if int(c) != largest {
			continue
		}
		main.Data[i] = true
		centroid[0] += float64(i%nx) * spacing[0]
		centroid[1] += float64(i/nx%ny) * spacing[1]
		centroid[2] += float64(i/(nx*ny)) * spacing[2]
	}
	for a := range centroid {
		centroid[a] /= float64(comps.Sizes[largest])
	}
	gap2, err := morph.SquaredEDT(main, spacing, true)
	if err != nil {
		return nil, err
	}
	// Squared limits, with a hair of slack for float32 distances.
	maxGap2 := rule.maxGapMM * rule.maxGapMM * (1 + 1e-6)
	maxReach2 := rule.maxReachMM * rule.maxReachMM * (1 + 1e-6)
	nearest := make([]float64, comps.N+1)
	for c := range nearest {
		nearest[c] = math.Inf(1)
	}
	for i, c := range comps.Labels {
		if c == 0 || int(c) == largest {
			continue
		}
		nearest[c] = min(nearest[c], float64(gap2[i]))
		d := [3]float64{
			float64(i%nx)*spacing[0] - centroid[0],
			float64(i/nx%ny)*spacing[1] - centroid[1],
			float64(i/(nx*ny))*spacing[2] - centroid[2],
		}
		if d[0]*d[0]+d[1]*d[1]+d[2]*d[2] > maxReach2 {
			keep[c] = false
		}
	}
	speckGap2 := rule.speckGapMM * rule.speckGapMM * (1 + 1e-6)
	voxMM3 := spacing[0] * spacing[1] * spacing[2]
	for c := 1; c <= comps.N; c++ {
		if c == largest || !keep[c] {
			continue
		}
		if nearest[c] > maxGap2 || nearest[c] > speckGap2 && float64(comps.Sizes[c])*voxMM3 < rule.speckMM3 {
			keep[c] = false
		}
	}
	return keep, nil
}
