// Package truth checks otoseg's measurements against the exact ground truth
// of phantom cohorts: each case's meta sidecar knows its ears' A value,
// turns, height, lateral-wall duct length, modiolar axis and canals. It
// measures either the reference labels or a folder of predicted label maps
// and tabulates the errors, so the accuracy figures in the README come
// from a command anyone can rerun.
package truth

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/measure"
	"github.com/otoseg/otoseg/phantom"
)

// Row is one ear: the truth, what was measured and the errors (nil where
// either side has no number).
type Row struct {
	Case      string  `json:"case_id"`
	Centre    string  `json:"centre"`
	Side      string  `json:"side"`
	Pathology string  `json:"pathology"`
	Severity  float64 `json:"severity"`
	// Found is false when the label map has no ear on this side.
	Found bool `json:"found"`
	// Errors per figure: measured minus truth (mm, turns); CDL errors in
	// percent of the truth; angles in degrees.
	Errors map[string]float64 `json:"errors"`
	// Truth and Measured per figure, for the CSV.
	Truth    map[string]float64 `json:"truth"`
	Measured map[string]float64 `json:"measured"`
	Warnings []string           `json:"warnings,omitempty"`
}

// Figures are the compared figures, in report order.
var Figures = []string{"a_value_mm", "turns", "height_mm", "cdl_lateral_wall_traced_pct", "cdl_lateral_wall_alexiades_pct",
	"cdl_lateral_wall_escude_pct", "modiolar_axis_deg", "modiolus_mm", "canal_radius_mm", "canal_normal_deg"}

// Options say what to measure.
type Options struct {
	// Pred is a folder of predicted label maps <case_id>.nii.gz; empty
	// measures the manifest's reference labels.
	Pred string
	// Progress, when set, is told after each case.
	Progress func(done, total int)
}

// Validate measures every case of a phantom manifest (with a meta column)
// and compares each ear with its ground truth.
func Validate(manifest string, o Options) ([]Row, error) {
	m, err := dataset.Read(manifest)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for i, c := range m.Cases {
		metaPath := c.Extra["meta"]
		if metaPath == "" {
			return nil, fmt.Errorf("manifest %s: case %s has no meta sidecar (a phantom cohort's manifest has a meta column)", manifest, c.ID)
		}
		if !filepath.IsAbs(metaPath) {
			metaPath = filepath.Join(m.Dir, metaPath)
		}
		meta, err := readMeta(metaPath)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: case %s: %w", manifest, c.ID, err)
		}
		labPath := c.Label
		if o.Pred != "" {
			labPath = filepath.Join(o.Pred, c.ID+".nii.gz")
		}
		rs, err := compareCase(c, meta, labPath)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
		if o.Progress != nil {
			o.Progress(i+1, len(m.Cases))
		}
	}
	return rows, nil
}

func readMeta(path string) (*phantom.Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var m phantom.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// compareCase measures one label map and compares its ears in the field
// of view with the truth. A missing prediction (no ear found) gives rows
// with Found false.
func compareCase(c dataset.Case, meta *phantom.Meta, labPath string) ([]Row, error) {
	var rec *measure.Record
	lab, err := imageio.Read(labPath)
	if err != nil && !os.IsNotExist(unwrapAll(err)) {
		return nil, err
	}
	if lab != nil {
		if rec, err = measure.Measure(lab, measure.Options{}); err != nil && err != measure.ErrEmpty {
			return nil, fmt.Errorf("%s: %w", labPath, err)
		}
	}
	var rows []Row
	for _, g := range meta.Ears {
		if !g.InFOV {
			continue
		}
		r := Row{Case: c.ID, Centre: c.Center, Side: g.Side, Pathology: g.Pathology, Severity: g.Severity,
			Errors: map[string]float64{}, Truth: map[string]float64{}, Measured: map[string]float64{}}
		if rec != nil {
			for i := range rec.Ears {
				if rec.Ears[i].Side == g.Side {
					r.Found = true
					compareEar(&r, &rec.Ears[i], g)
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// comparable says which figures of a pathology's truth mean what the
// measurement means: an IP-I cyst has no A value, turns or duct length;
// IP-II's recorded duct length is that of the full spiral the cyst
// replaced.
func comparable(path, fig string) bool {
	switch path {
	case phantom.IncompletePartition1:
		return fig != "a_value_mm" && fig != "turns" && fig != "height_mm" && fig != "cdl" && fig != "axis"
	case phantom.IncompletePartition2:
		return fig != "cdl" && fig != "height_mm"
	}
	return true
}

func compareEar(r *Row, e *measure.Ear, g phantom.Ear) {
	r.Warnings = e.Warnings
	set := func(fig string, meas *float64, truth float64) {
		r.Truth[fig] = truth
		if meas != nil {
			r.Measured[fig] = *meas
			if comparable(g.Pathology, fig) {
				r.Errors[fig] = *meas - truth
			}
		}
	}
	set("a_value_mm", e.AValue, g.AValue)
	set("turns", e.Turns, g.Turns)
	set("height_mm", e.Height, g.CochleaHeight)
	r.Truth["cdl_lateral_wall_mm"] = g.CDL
	if comparable(g.Pathology, "cdl") && g.CDL > 0 {
		for _, est := range e.CDLEstimates {
			if est.Site != "lateral_wall" {
				continue
			}
			key := map[string]string{"traced": "cdl_lateral_wall_traced_pct", "alexiades2015": "cdl_lateral_wall_alexiades_pct",
				"escude2006": "cdl_lateral_wall_escude_pct"}[est.Source]
			if key == "" {
				continue
			}
			r.Errors[key] = 100 * (est.MM - g.CDL) / g.CDL
			r.Measured[key[:len(key)-4]+"_mm"] = est.MM
		}
	}
	if e.Cochlea != nil && comparable(g.Pathology, "axis") {
		cos := math.Abs(dot(e.Cochlea.Axis, g.Axis))
		r.Errors["modiolar_axis_deg"] = math.Acos(math.Min(1, cos)) * 180 / math.Pi
		d := [3]float64{e.Cochlea.ModiolusMM[0] - g.Cochlea[0], e.Cochlea.ModiolusMM[1] - g.Cochlea[1], e.Cochlea.ModiolusMM[2] - g.Cochlea[2]}
		r.Errors["modiolus_mm"] = math.Sqrt(dot(d, d))
	}
	// canals: the worst of the canals present in both
	for i, c := range []*measure.Canal{e.Canals.Anterior, e.Canals.Posterior, e.Canals.Lateral} {
		if c == nil || !g.CanalPresent[i] || (i == 2 && g.Pathology == phantom.CanalDysplasia) {
			continue
		}
		dr := c.RadiusMM - g.CanalRadius[i]
		if math.Abs(dr) > math.Abs(r.Errors["canal_radius_mm"]) {
			r.Errors["canal_radius_mm"] = dr
		}
		ang := math.Acos(math.Min(1, math.Abs(dot(c.Normal, g.CanalNormal[i])))) * 180 / math.Pi
		r.Errors["canal_normal_deg"] = math.Max(r.Errors["canal_normal_deg"], ang)
	}
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
