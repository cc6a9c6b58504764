package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/nnunet"
	"github.com/otoseg/otoseg/segment"
)

// newImportNNUNetCmd is `otoseg model import-nnunet`.
func newImportNNUNetCmd() *cobra.Command {
	var out, fold string
	cmd := &cobra.Command{
		Use:   "import-nnunet RESULTS_DIR -o MODEL_DIR [--fold N|all]",
		Short: "import a trained nnU-Net v2 model (PlainConvUNet, CT) as an otoseg model folder",
		Long: `import-nnunet reads an nnU-Net v2 trained-model folder, the one holding
plans.json, dataset.json and fold_N/checkpoint_final.pth
(nnUNet_results/DatasetXXX_Name/nnUNetTrainer__nnUNetPlans__3d_fullres), maps
its PlainConvUNet onto otoseg's network and writes MODEL_DIR: one safetensors
weights file per fold, the plan otoseg predicts with, the source plans.json
and dataset.json, and a model card with the source files' SHA-256.

Then 'otoseg segment SCAN -o OUT --model MODEL_DIR' predicts as nnU-Net's
predictor does: crop to non-zero, CT normalisation, resampling to the plan's
spacing, Gaussian sliding window over the whole scan with mirroring, fold
averaging, resampling back.

Refused, with the reason: residual-encoder and other networks, 2-D
configurations, normalisations other than CTNormalization, several input
channels, region-based labels.`,
		Example: `  otoseg model import-nnunet nnUNet_results/Dataset101_Ear/nnUNetTrainer__nnUNetPlans__3d_fullres -o ear-model
  otoseg model import-nnunet RESULTS -o ear-fold0 --fold 0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("import-nnunet: -o MODEL_DIR is required")
			}
			folds, err := parseFolds(fold)
			if err != nil {
				return err
			}
			m, err := nnunet.Import(args[0], out, folds)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s (%s), folds %v, %d labels -> %s\n",
				m.Plan.DatasetName, m.Plan.Configuration, m.Folds, len(m.Labels), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "model folder to write (must not exist)")
	cmd.Flags().StringVar(&fold, "fold", "all", "fold to import, or all (every fold_N with a checkpoint_final.pth)")
	return cmd
}

func parseFolds(s string) ([]int, error) {
	if s == "all" {
		return nil, nil
	}
	var folds []int
	for _, p := range strings.Split(s, ",") {
		f, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || f < 0 {
			return nil, fmt.Errorf("--fold %q: want a fold number, a comma-separated list, or all", s)
		}
		folds = append(folds, f)
	}
	return folds, nil
}

// runSegmentNNUNet segments files with an imported nnU-Net model: one
// library call per scan, as for otoseg's own models.
func runSegmentNNUNet(cmd *cobra.Command, files []string, batch bool, o segmentOptions) error {
	if o.mesh || o.slicer || o.thresh != 0 || o.assumeOffset {
		return errors.New("segment: --mesh, --slicer, --threshold and --assume-offset apply to otoseg's own models, not imported nnU-Net ones")
	}
	m, err := nnunet.Load(o.model)
	if err != nil {
		return err
	}
	dir := filepath.Dir(o.out)
	if batch {
		dir = o.out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	for _, f := range files {
		out := o.out
		if batch {
			out = filepath.Join(o.out, segment.CaseName(f)+".nii.gz")
		}
		rep, err := m.SegmentFile(cmd.Context(), f, out, nnunet.Options{NoMirror: o.disableTTA})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s: %v voxels by label, %d windows x %d folds in %.2f s\n",
			f, out, rep.VoxelsByLabel, rep.Windows, len(rep.Folds), rep.Seconds)
	}
	return nil
}

// runNNUNetModelInfo describes an imported nnU-Net model: its description
// as JSON, or its model card, after loading every fold's weights.
func runNNUNetModelInfo(cmd *cobra.Command, dir string, asJSON bool) error {
	m, err := nnunet.Load(dir)
	if err != nil {
		return err
	}
	if asJSON {
		b, err := json.MarshalIndent(m.Model, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
		return err
	}
	card, err := os.ReadFile(filepath.Join(dir, nnunet.CardFile))
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(card)
	return err
}
