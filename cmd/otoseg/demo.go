package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/render"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

type demoOptions struct {
	out   string
	model string
	seed  uint64
}

func newDemoCmd() *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "generate phantom scans, segment them with the built-in model, and score the result",
		Long: `Demo runs otoseg's main job end to end on built-in defaults: it generates
synthetic temporal-bone CT phantoms with exact labels (a normal whole-head CT,
a pathological temporal-bone scan and a scan from the external centre),
segments each with the built-in model, compares the segmentation with the
ground truth (Dice, HD95 per ear), prints the time taken against the
simulated manual time, and writes pictures of every result.`,
		Example: `  otoseg demo
  otoseg demo --out /tmp/demo --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := safeout.Dir(o.out); err != nil {
				return usageError{err}
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVarP(&o.out, "out", "o", "demo-out", "folder for the scans, segmentations and pictures")
	cmd.Flags().StringVar(&o.model, "model", "", "model folder (default: the built-in baseline)")
	cmd.Flags().Uint64Var(&o.seed, "seed", 2026, "phantom seed")
	return cmd
}

type demoCase struct {
	centre, pathology, what string
}

func runDemo(ctx context.Context, w io.Writer, o demoOptions) error {
	model, name, err := loadModelOrBaseline(o.model)
	if err != nil {
		return err
	}
	cases := []demoCase{
		{"B", "none", "whole-head CT, normal ears"},
		{"A", "ip2", "temporal-bone protocol, incomplete partition type II"},
		{"E", "none", "external centre (other protocol), normal ears"},
	}
	fmt.Fprintf(w, "otoseg demo: model %s, output in %s\n\n", name, o.out)
	var total, manual float64
	for i, dc := range cases {
		c, err := phantom.CentreByName(dc.centre)
		if err != nil {
			return err
		}
		img, ref, meta, err := phantom.GenerateContext(ctx, phantom.Config{Centre: c, Seed: o.seed + uint64(i), Pathology: dc.pathology})
		if err != nil {
			return err
		}
		meta.CaseID = fmt.Sprintf("demo%d-%s", i+1, dc.centre)
		if err := phantom.WriteCase(o.out, img, ref, meta); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %s, %v voxels of %.2fx%.2fx%.2f mm\n", meta.CaseID, dc.what, img.Dims, img.Spacing[0], img.Spacing[1], img.Spacing[2])
		t0 := time.Now()
		res, err := model.Segment(ctx, img, segment.DefaultOptions())
		if errors.Is(err, segment.ErrNoEar) {
			fmt.Fprintf(w, "  %v\n", err)
			continue
		}
		if err != nil {
			return err
		}
		sec := time.Since(t0).Seconds()
		total += sec
		manual += meta.ManualSeconds
		pred := filepath.Join(o.out, "predictions", meta.CaseID+".nii.gz")
		if err := os.MkdirAll(filepath.Dir(pred), 0o755); err != nil {
			return err
		}
		if err := imageio.Write(pred, res.Labels); err != nil {
			return err
		}
		ev, err := metrics.Evaluate(ref, res.Labels, metrics.Options{ToleranceMM: metrics.DefaultToleranceMM})
		if err != nil {
			return err
		}
		for _, r := range ev.Rows {
			if r.Structure != "labyrinth" || r.Ear == metrics.EarBoth {
				continue
			}
			fmt.Fprintf(w, "  %-5s ear: labyrinth Dice %.3f, HD95 %.2f mm, volume %.0f mm^3 (reference %.0f)\n", r.Ear, r.Dice, r.HD95, r.VolumePred, r.VolumeRef)
		}
		fmt.Fprintf(w, "  segmented in %.1f s (simulated manual segmentation: %.0f s)\n", sec, meta.ManualSeconds)
		for _, e := range res.Ears {
			pic := filepath.Join(o.out, meta.CaseID+"_"+e.Side+".png")
			if err := demoPicture(pic, img, res.Labels, e, meta.CaseID+" "+e.Side+" ear: otoseg segmentation"); err != nil {
				return err
			}
			fmt.Fprintf(w, "  picture: %s\n", pic)
		}
	}
	if total > 0 {
		fmt.Fprintf(w, "\nautomated %.1f s in all vs simulated manual %.0f s: %.0fx faster\n", total, manual, manual/total)
	}
	return nil
}

// demoPicture renders the three orthogonal slices through an ear with the
// segmentation outlined, in a bone window.
func demoPicture(path string, img, lab *volume.Volume, e segment.Ear, title string) error {
	var c [3]int
	for a := 0; a < 3; a++ {
		c[a] = (e.BoxLo[a] + e.BoxHi[a]) / 2
	}
	pic, err := render.SlicesWith(img, lab, c, render.BoneWindow, render.Options{FieldMM: 30, Title: title})
	if err != nil {
		return err
	}
	return render.WritePNG(path, pic)
}
