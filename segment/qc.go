package segment

import (
	"math"

	"github.com/otoseg/otoseg/infer"
	"github.com/otoseg/otoseg/qc"
	"github.com/otoseg/otoseg/volume"
)

// assessEar adds the quality-control signals and verdict of one pasted
// ear: the probability signals from the network's output on the ear's
// region, the label signals from the pasted labyrinth, scored by the
// calibrated QC model.
func (m *Model) assessEar(ear *Ear, labels *volume.Volume, pr *earPrediction, tau float64, model *qc.Model) error {
	s := qc.ProbabilitySignals(pr.prob, m.Seg.Config().NumClasses, pr.grid.Dims, tau)
	s.LocatorScore = ear.LocatorScore
	s.MirrorGap = pr.mirrorGap
	if err := qc.LabelSignals(&s, labels, ear.BoxLo, ear.BoxHi); err != nil {
		return err
	}
	r := model.Assess(s)
	ear.QCSignals, ear.QC = &s, &r
	return nil
}

// mirrorGap is the test-time-augmentation disagreement of one ear: the
// patch centred on the labyrinth is predicted once more, mirrored along
// all three axes (training mirrored every axis, so the view is as familiar
// to the network as the plain one), and compared with the sliding
// window's structure probabilities there: 1 - the soft Jaccard index
// (sum of minima over sum of maxima, classes 1..C-1). 0 when the network
// says the same from both views. One patch costs a fraction of the
// region's sliding window, where mirroring it all would cost 8 times.
// lo, hi and ok are foregroundBox's answer for prob.
func mirrorGap(w *infer.SlidingWindow, net infer.Net, img, prob []float32, dims [3]int, C int, lo, hi [3]int, ok bool) (float64, error) {
	if !ok {
		return 1, nil
	}
	var start [3]int
	for a := 0; a < 3; a++ {
		start[a] = max(0, min(dims[a]-w.Patch[a], (lo[a]+hi[a]+1)/2-w.Patch[a]/2))
	}
	mp, err := w.OnePatch(net, img, dims, start, C, [3]bool{true, true, true})
	if err != nil {
		return 0, err
	}
	n := dims[0] * dims[1] * dims[2]
	px, py, pz := w.Patch[0], w.Patch[1], w.Patch[2]
	ps := px * py * pz
	var sMin, sMax float64
	for z := 0; z < pz; z++ {
		for y := 0; y < py; y++ {
			row := start[0] + dims[0]*(start[1]+y+dims[1]*(start[2]+z))
			for x := 0; x < px; x++ {
				for c := 1; c < C; c++ {
					a, b := float64(prob[c*n+row+x]), float64(mp[c*ps+x+px*(y+py*z)])
					sMin += math.Min(a, b)
					sMax += math.Max(a, b)
				}
			}
		}
	}
	if sMax == 0 {
		return 1, nil
	}
	return 1 - sMin/sMax, nil
}
