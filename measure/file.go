package measure

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/render"
	"github.com/otoseg/otoseg/volume"
)

// FileOptions say what MeasureFile reads besides the label map and where
// it writes.
type FileOptions struct {
	Options
	// Image is the CT the labels belong to (optional): the cochlear views
	// are reformatted from it, else drawn from the labels.
	Image string
	// OutDir, when set, receives <name>_measure.json and one
	// <name>_<side>_cochlear_view.png per traced ear.
	OutDir string
}

// FileRecord is a Record with the files it came from and went to.
type FileRecord struct {
	Labels string `json:"labels"`
	Image  string `json:"image,omitempty"`
	Record
	Pictures []string `json:"pictures,omitempty"`
}

// MeasureFile reads a label map (and the CT, when given), measures it and
// writes the outputs o asks for. Errors name the file at fault.
func MeasureFile(labels string, o FileOptions) (*FileRecord, error) {
	lab, err := imageio.Read(labels)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	var img *volume.Volume
	if o.Image != "" {
		if img, err = imageio.Read(o.Image); err != nil {
			return nil, fmt.Errorf("measure: %w", err)
		}
	}
	rec, err := Measure(lab, o.Options)
	if err != nil {
		return nil, fmt.Errorf("measure %s: %w", labels, err)
	}
	fr := &FileRecord{Labels: labels, Image: o.Image, Record: *rec}
	if o.OutDir == "" {
		return fr, nil
	}
	name := imageio.TrimExtension(filepath.Base(strings.TrimRight(labels, "/")))
	pics, err := WriteViews(o.OutDir, name, lab, img, rec, []string{labels, o.Image})
	if err != nil {
		return nil, err
	}
	fr.Pictures = pics
	out := filepath.Join(o.OutDir, name+"_measure.json")
	if err := refuseInput(out, labels, o.Image); err != nil {
		return nil, err
	}
	err = atomicfile.Write(out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(fr)
	})
	if err != nil {
		return nil, fmt.Errorf("measure: writing %s: %w", out, err)
	}
	return fr, nil
}

// WriteViews writes the cochlear view of every traced ear of rec to
// dir/<name>_<side>_cochlear_view.png and returns the paths; ears without
// a trace are skipped (their warnings say why). inputs are paths the
// pictures must never replace.
func WriteViews(dir, name string, lab, img *volume.Volume, rec *Record, inputs []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	var out []string
	for i := range rec.Ears {
		e := &rec.Ears[i]
		pic, err := CochlearView(lab, img, e, ViewOptions{})
		if errors.Is(err, ErrNoView) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, name+"_"+e.Side+"_cochlear_view.png")
		if err := refuseInput(p, inputs...); err != nil {
			return nil, err
		}
		if err := render.WritePNG(p, pic); err != nil {
			return nil, fmt.Errorf("measure: writing %s: %w", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// refuseInput is an error when out is one of the input files.
func refuseInput(out string, inputs ...string) error {
	ao, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ai, err := filepath.Abs(in); err == nil && ai == ao {
			return fmt.Errorf("measure: output %s would overwrite the input %s", out, in)
		}
	}
	return nil
}

// Print writes a record as a table a person reads: per ear the cochlear
// figures, the duct lengths with their methods, volumes, canals and
// warnings.
func Print(w io.Writer, rec *Record) {
	for _, n := range rec.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for i := range rec.Ears {
		e := &rec.Ears[i]
		fmt.Fprintf(w, "%s ear\n", e.Side)
		fmt.Fprintf(w, "  A value %s, B value %s, height %s, turns %s\n", fmtMM(e.AValue), fmtMM(e.BValue), fmtMM(e.Height), fmtNum(e.Turns))
		for _, c := range e.CDLEstimates {
			fmt.Fprintf(w, "  CDL %-14s %6.2f mm  %s\n", strings.ReplaceAll(c.Site, "_", " "), c.MM, c.Method)
		}
		v := e.VolumeMM3
		fmt.Fprintf(w, "  volume mm³: cochlea %.1f, vestibule %.1f, canals %.1f, labyrinth %.1f\n", v.Cochlea, v.Vestibule, v.Canals, v.Labyrinth)
		for _, c := range []struct {
			name string
			c    *Canal
		}{{"anterior", e.Canals.Anterior}, {"posterior", e.Canals.Posterior}, {"lateral", e.Canals.Lateral}} {
			if c.c != nil {
				fmt.Fprintf(w, "  %-9s canal: radius %.2f mm, arc %.0f°, normal (%.2f, %.2f, %.2f)\n", c.name, c.c.RadiusMM, c.c.ArcDeg, c.c.Normal[0], c.c.Normal[1], c.c.Normal[2])
			}
		}
		if a := e.Canals.AnglesDeg; len(a) > 0 {
			fmt.Fprintf(w, "  angles between canal planes:")
			for _, k := range []string{"anterior_posterior", "anterior_lateral", "posterior_lateral"} {
				if x, ok := a[k]; ok {
					fmt.Fprintf(w, " %s %.1f°", strings.ReplaceAll(k, "_", "-"), x)
				}
			}
			fmt.Fprintln(w)
		}
		for _, m := range e.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", m)
		}
	}
}
