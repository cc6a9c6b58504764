package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/nnunet"
)

// newDatasetCmd is `otoseg dataset`: moving cohorts between otoseg's
// manifest and nnU-Net's raw dataset layout.
func newDatasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "convert between otoseg manifests and nnU-Net raw datasets",
	}
	var out, labels string
	imp := &cobra.Command{
		Use:   "import-nnunet RAW_DIR -o manifest.csv [--labels 1=cochlea,2=vestibule,3=semicircular_canals]",
		Short: "write an otoseg manifest for an nnU-Net raw dataset (imagesTr/labelsTr/imagesTs)",
		Long: `import-nnunet reads an nnU-Net v2 raw dataset (dataset.json, imagesTr/<case>_0000.nii.gz,
labelsTr/<case>.nii.gz, optionally imagesTs and labelsTs) and writes a manifest
that train, evaluate and review take: training cases get split train, imagesTs
cases split external. The dataset is never written.

dataset.json's labels are matched to otoseg's (1 cochlea, 2 vestibule, 3
semicircular canals) by name; when they are named otherwise, --labels maps
them (values not listed become background) and remapped label maps are written
to labels-otoseg/ beside the manifest. nnU-Net knows no subgroups: every case
is "normal" with pathology "unknown".`,
		Example: `  otoseg dataset import-nnunet nnUNet_raw/Dataset101_Ear -o ear.csv
  otoseg dataset import-nnunet Dataset7_Temporal -o t.csv --labels 3=cochlea,4=vestibule,5=semicircular_canals`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("import-nnunet: -o manifest.csv is required")
			}
			var m map[int]int
			if labels != "" {
				var err error
				if m, err = nnunet.ParseLabelMap(labels); err != nil {
					return err
				}
			}
			n, err := nnunet.ImportRaw(args[0], out, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d cases -> %s\n", n, out)
			return nil
		},
	}
	imp.Flags().StringVarP(&out, "out", "o", "", "manifest to write")
	imp.Flags().StringVar(&labels, "labels", "", "dataset label values to otoseg labels, e.g. 1=cochlea,2=vestibule,3=semicircular_canals")
	var manifest, dst string
	exp := &cobra.Command{
		Use:   "export-nnunet --manifest M -o DatasetNNN_Name",
		Short: "write a manifest's cases as an nnU-Net raw dataset",
		Long: `export-nnunet writes the manifest's cases as an nnU-Net v2 raw dataset: train and
validation cases with labels in imagesTr/labelsTr (nnU-Net makes its own
folds), external cases and unlabelled ones in imagesTs (labelsTs when
labelled), NIfTI, with a dataset.json (one channel "CT", labels background,
cochlea, vestibule, semicircular_canals). The folder must not exist and must be
named DatasetNNN_Name; it is checked against nnU-Net's dataset rules before
it appears. The manifest may be a full one or just case_id,image,label.`,
		Example: `  otoseg phantom --out cohort --cases 20 --seed 1
  otoseg dataset export-nnunet --manifest cohort/manifest.csv -o nnUNet_raw/Dataset501_OtosegPhantoms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if manifest == "" || dst == "" {
				return errors.New("export-nnunet: --manifest and -o are required")
			}
			m, err := dataset.ReadAny(manifest)
			if err != nil {
				return err
			}
			n, err := nnunet.ExportRaw(m, dst)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d cases -> %s\n", n, dst)
			return nil
		},
	}
	exp.Flags().StringVar(&manifest, "manifest", "", "manifest to export")
	exp.Flags().StringVarP(&dst, "out", "o", "", "dataset folder to write (DatasetNNN_Name)")
	cmd.AddCommand(imp, exp)
	return cmd
}
