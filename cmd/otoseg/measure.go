package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/measure"
	"github.com/otoseg/otoseg/measure/truth"
)

func newMeasureCmd() *cobra.Command {
	o := measure.FileOptions{}
	asJSON := false
	cmd := &cobra.Command{
		Use:   "measure LABELS [--image CT] [--json] [-o DIR]",
		Short: "cochlear and canal measurements (A value, turns, duct length, ...) from a label map",
		Long: `measure reads an inner-ear label map (1 cochlea, 2 vestibule, 3 semicircular
canals; a reference segmentation or otoseg's own) and measures each ear in
world millimetres:

  the modiolar axis and the cochlear view (the plane through the basal turn
  perpendicular to it; Verbist et al. 2010), the A value (round window
  through the modiolus to the opposite lateral wall), the B value
  (perpendicular to A), the height, the number of turns, the cochlear duct
  length at the lateral wall and the organ of Corti, traced on the label and
  by the published A-value formulas (Alexiades 2015, Escudé 2006), each with
  its method; the volumes; per semicircular canal its radius and plane, and
  the angles between the planes.

An ear too malformed for a figure (an IP-I cyst, an absent canal) gets the
figures it can and a warning per figure it cannot. -o DIR writes
<name>_measure.json and a cochlear-view picture per ear
(<name>_<side>_cochlear_view.png), reformatted from --image when given.`,
		Example: `  otoseg measure predictions/c000_A.nii.gz --image cohort/images/c000_A.nii.gz -o measures
  otoseg measure labels.nii.gz --json > labels_measure.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMeasure(args[0], o, asJSON, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Image, "image", "", "the CT the labels belong to (for the cochlear-view pictures)")
	f.StringVarP(&o.OutDir, "out", "o", "", "folder for <name>_measure.json and the pictures")
	f.BoolVar(&asJSON, "json", false, "print the JSON record instead of the table")
	cmd.AddCommand(newMeasureValidateCmd())
	return cmd
}

func runMeasure(labels string, o measure.FileOptions, asJSON bool, w io.Writer) error {
	rec, err := measure.MeasureFile(labels, o)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	}
	measure.Print(w, &rec.Record)
	for _, p := range rec.Pictures {
		io.WriteString(w, "wrote "+p+"\n")
	}
	return nil
}

func newMeasureValidateCmd() *cobra.Command {
	var manifest, pred, out, title string
	cmd := &cobra.Command{
		Use:   "validate --manifest M [--pred DIR] [-o DIR]",
		Short: "measure a phantom cohort and compare with its exact ground truth",
		Long: `validate measures every case of a phantom cohort (otoseg phantom writes the
manifest with its meta sidecars) and compares each ear with the truth: A
value, turns, height, lateral-wall duct length (traced and by formula),
modiolar axis, canal radii and planes. Without --pred it measures the
reference labels; with --pred the label maps <case_id>.nii.gz there (otoseg
segment's output). Prints mean absolute error, bias and the share within
the targets (A 0.3 mm, turns 0.2, CDL 5%) for normal and pathological ears;
-o DIR also writes measure_errors.md, .csv and .json.`,
		Example: `  otoseg measure validate --manifest cohort/manifest.csv --pred predictions -o measure-report`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if title == "" {
				title = "measurement errors: reference labels of " + manifest
				if pred != "" {
					title = "measurement errors: " + pred + " against " + manifest
				}
			}
			_, err := truth.Run(manifest, truth.Options{Pred: pred}, out, title, cmd.OutOrStdout())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&manifest, "manifest", "", "phantom cohort manifest.csv (required)")
	f.StringVar(&pred, "pred", "", "folder of predicted label maps (default: the reference labels)")
	f.StringVarP(&out, "out", "o", "", "folder for measure_errors.{md,csv,json}")
	f.StringVar(&title, "title", "", "title of the tables")
	cmd.MarkFlagRequired("manifest")
	return cmd
}
