package evaluate

import (
	"fmt"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// VolumeAgreement is the volumetric agreement of one structure between the
// reference and the predicted masks, over the ears: the table volumetric
// validation studies print (reference and predicted volume, ICC, Pearson
// and Spearman correlation, Bland-Altman bias and limits), where RVD
// (VolumeBias) gives only the relative bias.
//
// The ears are those whose reference has the structure (as for RVD): an
// ear whose prediction of it is empty takes part with a predicted volume of
// 0, because a missed structure is a volume error too (PredEmpty counts
// them); an ear without the structure in the reference has nothing to
// agree on (Excluded).
//
// Statistics that need a spread are null for fewer than minVolumeBiasN
// ears, as in VolumeBias; Note says why a statistic is absent.
type VolumeAgreement struct {
	N         int      `json:"n"`
	Excluded  int      `json:"excluded"`
	PredEmpty int      `json:"pred_empty"`
	RefMean   *float64 `json:"ref_mean_mm3"`
	RefSD     *float64 `json:"ref_sd_mm3"`
	PredMean  *float64 `json:"pred_mean_mm3"`
	PredSD    *float64 `json:"pred_sd_mm3"`
	// BlandAltman is predicted − reference in mm³.
	BlandAltman *stats.BlandAltman `json:"bland_altman"`
	// ICC is ICC(2,1): two-way random effects, absolute agreement, single
	// measurement, with its McGraw-Wong 95% CI.
	ICC      *stats.ICCResult   `json:"icc_2_1"`
	Pearson  *stats.Correlation `json:"pearson"`
	Spearman *stats.Correlation `json:"spearman"`
	Note     string             `json:"note,omitempty"`
}

// volumePairs returns the reference and predicted volumes (mm³) of one
// structure over the ear rows, in row order, and the counts of excluded and
// empty-prediction ears.
func volumePairs(rows []CaseRow, structure string) (ref, pred []float64, excluded, predEmpty int) {
	for _, r := range rows {
		if r.Ear == metrics.EarBoth || r.Structure != structure {
			continue
		}
		if !(r.VolumeRef > 0) {
			excluded++
			continue
		}
		if r.Status == metrics.StatusPredEmpty {
			predEmpty++
		}
		ref, pred = append(ref, r.VolumeRef), append(pred, r.VolumePred)
	}
	return ref, pred, excluded, predEmpty
}

// volumeAgreementOf computes the VolumeAgreement of one structure.
func volumeAgreementOf(rows []CaseRow, structure string) VolumeAgreement {
	ref, pred, excl, empty := volumePairs(rows, structure)
	va := VolumeAgreement{N: len(ref), Excluded: excl, PredEmpty: empty}
	if va.N > 0 {
		va.RefMean, va.PredMean = ptr(stats.Mean(ref)), ptr(stats.Mean(pred))
	}
	if va.N < minVolumeBiasN {
		va.Note = fmt.Sprintf("%d ear(s): SD, limits of agreement, ICC and correlations need at least %d", va.N, minVolumeBiasN)
		return va
	}
	va.RefSD, va.PredSD = ptr(stats.SD(ref)), ptr(stats.SD(pred))
	if ba, err := stats.BlandAltmanOf(ref, pred); err == nil {
		va.BlandAltman = &ba
	}
	var notes []string
	x := make([][]float64, len(ref))
	for i := range ref {
		x[i] = []float64{ref[i], pred[i]}
	}
	if icc, err := stats.ICC21(x); err == nil {
		va.ICC = &icc
	} else {
		notes = append(notes, "ICC: "+err.Error())
	}
	if c, err := stats.Pearson(ref, pred); err == nil {
		va.Pearson = &c
	} else {
		notes = append(notes, "Pearson: "+err.Error())
	}
	if c, err := stats.Spearman(ref, pred); err == nil {
		va.Spearman = &c
	} else {
		notes = append(notes, "Spearman: "+err.Error())
	}
	for i, n := range notes {
		if i > 0 {
			va.Note += "; "
		}
		va.Note += n
	}
	return va
}

// volumeAgreement fills Summary.VolumeAgreement, keyed by structure.
func (a *analysis) volumeAgreement(s *Summary) {
	s.VolumeAgreement = map[string]VolumeAgreement{}
	for _, st := range metrics.Structures {
		s.VolumeAgreement[st.Name] = volumeAgreementOf(a.rows, st.Name)
	}
}

// FailedEars counts, for one structure, the ears whose prediction of it is
// empty although the reference has it (status pred_empty). Their surface
// distances are undefined, so HD, HD95 and ASSD are computed without them,
// which makes those statistics look better than the method is; every
// distance table of the report prints this count beside n.
type FailedEars struct {
	Ears   int      `json:"ears"`   // ears whose reference has the structure
	Failed int      `json:"failed"` // of those, with an empty prediction
	List   []string `json:"list"`   // "case_id ear"
}

// failedEars fills Summary.FailedEars, keyed by structure.
func (a *analysis) failedEars(s *Summary) {
	s.FailedEars = map[string]FailedEars{}
	for _, st := range metrics.Structures {
		f := FailedEars{List: []string{}}
		for _, r := range a.rows {
			if r.Ear == metrics.EarBoth || r.Structure != st.Name || !(r.VolumeRef > 0) {
				continue
			}
			f.Ears++
			if r.Status == metrics.StatusPredEmpty {
				f.Failed++
				f.List = append(f.List, r.Case.ID+" "+r.Ear)
			}
		}
		s.FailedEars[st.Name] = f
	}
}
