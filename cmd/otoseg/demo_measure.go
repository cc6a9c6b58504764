package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/otoseg/otoseg/measure"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

// demoMeasures prints each ear's QC verdict and measurements beside the
// phantom's truth, and writes the cochlear views to dir.
func demoMeasures(w io.Writer, dir string, meta *phantom.Meta, img *volume.Volume, res *segment.Result) error {
	rec, err := measure.Measure(res.Labels, measure.Options{})
	if err != nil {
		return err
	}
	truth := map[string]phantom.Ear{}
	for _, e := range meta.Ears {
		truth[e.Side] = e
	}
	for _, e := range res.Ears {
		if e.QC != nil {
			reasons := ""
			if len(e.QC.Reasons) > 0 {
				reasons = " (" + strings.Join(e.QC.Reasons, "; ") + ")"
			}
			fmt.Fprintf(w, "  %-5s ear: QC %s, score %.2f, Dice estimate %.2f%s\n", e.Side, e.QC.Flag, e.QC.Score, e.QC.DiceEstimate, reasons)
		}
	}
	num := func(p *float64, f string) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf(f, *p)
	}
	for i := range rec.Ears {
		e := &rec.Ears[i]
		g := truth[e.Side]
		fmt.Fprintf(w, "  %-5s ear: A %s mm (truth %.2f), %s turns (%.2f), CDL lateral wall %s mm traced (%.1f), %s by Alexiades\n",
			e.Side, num(e.AValue, "%.2f"), g.AValue, num(e.Turns, "%.2f"), g.Turns, num(e.CDLLateralWall, "%.1f"), g.CDL, alexiades(e))
		for _, m := range e.Warnings {
			fmt.Fprintf(w, "    warning: %s\n", m)
		}
	}
	pics, err := measure.WriteViews(dir, meta.CaseID, res.Labels, img, rec, nil)
	if err != nil {
		return err
	}
	for _, p := range pics {
		fmt.Fprintf(w, "  cochlear view: %s\n", p)
	}
	return nil
}

func alexiades(e *measure.Ear) string {
	for _, c := range e.CDLEstimates {
		if c.Site == "lateral_wall" && c.Source == "alexiades2015" {
			return fmt.Sprintf("%.1f mm", c.MM)
		}
	}
	return "n/a"
}
