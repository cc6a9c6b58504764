package evaluate

import (
	"fmt"
	"math"
	"slices"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// Stray summarises the stray pieces of the predicted labyrinth over a group
// of ears (the left/right labyrinth rows of cases.csv, never "both"): pieces
// of the prediction farther than ThresholdMM from the reference labyrinth
// (metrics.StrayThresholdMM; definitions in package metrics).
//
// Dice, HD95 and ASSD barely move when a network adds a small blob
// centimetres away, yet every such blob is a correction a reader has to
// make, so the report counts the ears that have one (issue 13: "no
// predicted component farther than 3 mm from the reference labyrinth").
//
// MaxMM and MedianMM are null when no ear has a defined stray distance
// (every prediction empty), so that a reader of summary.json cannot take
// them for 0 mm; the farthest ear is named only when MaxMM > 0.
type Stray struct {
	ThresholdMM float64 `json:"threshold_mm"`
	// Ears counts the ears with a defined stray_mm; Undefined those left
	// out because the predicted (or reference) labyrinth is empty.
	Ears                int      `json:"ears"`
	Undefined           int      `json:"n_undefined"`
	EarsWithStrayPieces int      `json:"ears_with_stray_pieces"`
	Pieces              int      `json:"stray_pieces"` // over all ears of the group
	VolumeMM3           float64  `json:"stray_mm3"`    // volume of those pieces
	MaxMM               *float64 `json:"max_stray_mm"`
	MedianMM            *float64 `json:"median_stray_mm"`
	FarthestCase        string   `json:"farthest_case_id,omitempty"` // the first ear in row order on a tie
	FarthestEar         string   `json:"farthest_ear,omitempty"`
}

// GroupStray is the stray-piece summary of one group of a stratum (split,
// cohort, center, subgroup, pathology), as GroupVolumeBias.
type GroupStray struct {
	Stratum string `json:"stratum"`
	Group   string `json:"group"`
	Stray   Stray  `json:"stray"`
}

// strayOf summarises the labyrinth ear rows among rows.
func strayOf(rows []CaseRow) Stray {
	s := Stray{ThresholdMM: metrics.StrayThresholdMM}
	var d []float64
	for _, r := range rows {
		if r.Ear == metrics.EarBoth || r.Structure != "labyrinth" {
			continue
		}
		if math.IsNaN(r.StrayMM) {
			s.Undefined++
			continue
		}
		s.Ears++
		d = append(d, r.StrayMM)
		if r.StrayPieces > 0 {
			s.EarsWithStrayPieces++
			s.Pieces += r.StrayPieces
			s.VolumeMM3 += r.StrayVolume
		}
		if s.MaxMM == nil || r.StrayMM > *s.MaxMM {
			s.MaxMM = ptr(r.StrayMM)
			if r.StrayMM > 0 {
				s.FarthestCase, s.FarthestEar = r.Case.ID, r.Ear
			}
		}
	}
	if len(d) > 0 {
		slices.Sort(d)
		s.MedianMM = ptr(stats.Percentile(d, 50))
	}
	return s
}

// stray fills Summary.Stray (all ears) and Summary.StrayByGroup (every group
// of every other stratum, strata in the order of `strata`, groups by name,
// as VolumeBiasByGroup).
func (a *analysis) stray(s *Summary) {
	s.Stray = strayOf(a.rows)
	s.StrayByGroup = []GroupStray{}
	for _, st := range strata[1:] {
		groups := map[string][]CaseRow{}
		for _, r := range a.rows {
			if r.Ear != metrics.EarBoth {
				g := st.group(r.Case)
				groups[g] = append(groups[g], r)
			}
		}
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		slices.Sort(names)
		for _, g := range names {
			s.StrayByGroup = append(s.StrayByGroup, GroupStray{Stratum: st.name, Group: g, Stray: strayOf(groups[g])})
		}
	}
}

// strayLine is the report's sentence on the stray pieces of a group.
func strayLine(s Stray) string {
	switch {
	case s.Ears == 0 && s.Undefined == 0:
		return "Stray pieces: no ear has a reference labyrinth to measure against."
	case s.Ears == 0:
		return fmt.Sprintf("Stray pieces: no ear has a predicted labyrinth to measure (%d with an empty prediction).", s.Undefined)
	}
	line := fmt.Sprintf("Stray pieces: %d of %d ears have a predicted piece more than %g mm from the reference labyrinth", s.EarsWithStrayPieces, s.Ears, s.ThresholdMM)
	if s.EarsWithStrayPieces > 0 {
		word := "pieces"
		if s.Pieces == 1 {
			word = "piece"
		}
		line += fmt.Sprintf(" (%d %s, %.1f mm³ in all)", s.Pieces, word, s.VolumeMM3)
	}
	if s.FarthestCase != "" {
		line += fmt.Sprintf("; farthest %.1f mm (%s, %s ear)", *s.MaxMM, s.FarthestCase, s.FarthestEar)
	} else {
		line += "; every predicted piece touches or overlaps the reference"
	}
	if s.Undefined > 0 {
		line += fmt.Sprintf("; %d ear(s) with an empty prediction not measured", s.Undefined)
	}
	return line + "."
}
