package evaluate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/otoseg/otoseg/measure/truth"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/qc"
)

// Titles of the QC and measurement sections, in the .md files and
// report.html alike.
const (
	qcTitle      = "QC score against labyrinth Dice"
	measureTitle = "measurement errors of the predictions"
)

// qcSection is the QC evaluation of the cohort: qc.Evaluate's figures, the
// scored ears (Score, Flag and Reasons filled) and the score-vs-Dice PNG
// exactly as written to qc_score_vs_dice.png.
type qcSection struct {
	Eval    qc.Evaluation
	Samples []qc.Sample
	PNG     []byte
}

// measureSection is the measurement errors of the predictions against a
// phantom manifest's ground truth, per group of ears (truth.Summarize).
type measureSection struct {
	Groups []truth.Group
}

// qcAndMeasures computes the QC and measurement sections into res and
// writes their own files (qc_report.md, qc_samples.json,
// qc_score_vs_dice.png; measure_errors.md, .csv, .json), before
// writeOutputs renders report.html from the same values: one computation
// feeds both the .md files and the HTML, so they cannot disagree.
//
// QC: when the prediction sidecars hold otoseg segment's QC signals, how
// well the built-in QC score finds the ears of labyrinth Dice below 0.85.
// Measurements: with cfg.Measure and a phantom manifest (meta column), the
// measurement errors of the predictions against the ground truth.
func qcAndMeasures(cfg Config, res *Result) error {
	if cfg.PredDir == "" || cfg.Manifest == "" {
		return nil
	}
	var samples []qc.Sample
	withSignals := 0
	sidecars := map[string]map[string]*qc.Signals{} // by case, then side: each sidecar read once
	for _, r := range res.Rows {
		if r.Structure != "labyrinth" || r.Ear == metrics.EarBoth {
			continue
		}
		bySide, seen := sidecars[r.Case.ID]
		if !seen {
			var err error
			bySide, err = qc.SidecarSignals(filepath.Join(cfg.PredDir, r.Case.ID+".json"))
			// no sidecar: predictions of another tool, no QC for the case
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("case %s: %w", r.Case.ID, err)
			}
			sidecars[r.Case.ID] = bySide
		}
		sig := bySide[r.Ear]
		if sig != nil {
			withSignals++
		}
		samples = append(samples, qc.Sample{Case: r.Case.ID, Centre: r.Case.Center, Side: r.Ear, Dice: r.Dice, Signals: sig})
	}
	if withSignals > 0 {
		m, err := qc.Default()
		if err != nil {
			return err
		}
		ev := qc.Evaluate(m, samples)
		if err := qc.WriteReport(cfg.OutDir, qcTitle, ev, samples); err != nil {
			return err
		}
		// The report embeds the very file written next to it.
		png, err := os.ReadFile(filepath.Join(cfg.OutDir, "qc_score_vs_dice.png"))
		if err != nil {
			return fmt.Errorf("qc: %w", err)
		}
		res.qc = &qcSection{Eval: ev, Samples: samples, PNG: png}
	}
	if cfg.Measure {
		groups, err := truth.Run(cfg.Manifest, truth.Options{Pred: cfg.PredDir}, cfg.OutDir, measureTitle, io.Discard)
		if err != nil {
			return fmt.Errorf("measurement errors: %w", err)
		}
		res.measures = &measureSection{Groups: groups}
	}
	return nil
}

// qcView is the report's "Quality control" section.
type qcView struct {
	Title string
	qc.Evaluation
	BadDice, AUROC, Threshold string
	// BadFlagged and GoodFlagged are qc.Share's "a/b (p%)".
	BadFlagged, GoodFlagged string
	Data                    template.URL
	EarRows                 []qcEarRow
}

// qcEarRow is one ear of the per-ear QC table.
type qcEarRow struct {
	Case, Side, Dice, Estimate, Score, Flag, Reasons string
	// Bad is labyrinth Dice below qc.BadDice; Review is the flag "review"
	// (or "missed"): the two columns a reader of the table compares.
	Bad, Review bool
}

// qcViewOf formats the QC section; nil without one.
func qcViewOf(s *qcSection) *qcView {
	if s == nil {
		return nil
	}
	ev := s.Eval
	v := &qcView{Title: qcTitle, Evaluation: ev, BadDice: fmt.Sprintf("%.2f", qc.BadDice), AUROC: fmt.Sprintf("%.3f", ev.AUROC),
		Threshold: fmt.Sprintf("%.3f", ev.Threshold), BadFlagged: qc.Share(ev.BadFlagged, ev.Bad), GoodFlagged: qc.Share(ev.GoodFlagged, ev.Good),
		Data: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(s.PNG))}
	if ev.Bad == 0 || ev.Good == 0 {
		v.AUROC = "n/a"
	}
	for _, e := range s.Samples {
		r := qcEarRow{Case: e.Case, Side: e.Side, Dice: g3(e.Dice), Estimate: "–", Score: "–", Flag: e.Flag, Reasons: strings.Join(e.Reasons, "; "),
			Bad: e.Bad(), Review: e.Flag != qc.OK}
		if e.Signals != nil {
			r.Score = fmt.Sprintf("%.3f", e.Score)
			r.Estimate = fmt.Sprintf("%.3f", e.DiceEstimate)
		} else {
			r.Reasons = "no QC signals: segmentation found no ear on this side"
		}
		v.EarRows = append(v.EarRows, r)
	}
	return v
}

// qcLine is the key-result sentence on QC.
func qcLine(v *qcView) string {
	// The number of bad ears is said: an AUROC of 1 on two bad ears is
	// little evidence.
	return fmt.Sprintf("QC score: AUROC %s for labyrinth Dice < %s (%d bad of %d scored ears); at the threshold %s it flags %s of the bad ears and %s of the good ones for review.",
		v.AUROC, v.BadDice, v.Bad, v.Bad+v.Good, v.Threshold, v.BadFlagged, v.GoodFlagged)
}

// measureGroupView is one group of ears of the "Measurements" section.
type measureGroupView struct {
	Name        string
	Ears, Found int
	Rows        []measureRow
}

// measureRow is a truth.TableRow whose signed bias is template.HTML, for
// the reason given at volRow (html/template writes "+" as "&#43;"); it
// holds only digits, a sign and a point.
type measureRow struct {
	truth.TableRow
	Bias template.HTML
}

// measureViewOf formats the measurement section with truth.Table, the
// formatting measure_errors.md uses; nil without one.
func measureViewOf(s *measureSection) []measureGroupView {
	if s == nil {
		return nil
	}
	var out []measureGroupView
	for _, g := range s.Groups {
		if g.Ears == 0 {
			continue
		}
		mg := measureGroupView{Name: g.Name, Ears: g.Ears, Found: g.Found}
		for _, r := range truth.Table(g) {
			mg.Rows = append(mg.Rows, measureRow{TableRow: r, Bias: template.HTML(template.HTMLEscapeString(r.Bias))})
		}
		out = append(out, mg)
	}
	return out
}

// targetsLine lists truth.Targets ("a_value_mm ±0.3, ...") in the order of
// truth.Figures, for the caption of the measurement tables.
func targetsLine() string {
	var parts []string
	for _, f := range truth.Figures {
		if t, ok := truth.Targets[f]; ok {
			parts = append(parts, fmt.Sprintf("%s ±%g", f, t))
		}
	}
	return strings.Join(parts, ", ")
}
