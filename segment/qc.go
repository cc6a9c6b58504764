package segment

import (
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
	if err := qc.LabelSignals(&s, labels, ear.BoxLo, ear.BoxHi); err != nil {
		return err
	}
	r := model.Assess(s)
	ear.QCSignals, ear.QC = &s, &r
	return nil
}
