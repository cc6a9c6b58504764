package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/nnunet"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/unet"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "inspect otoseg models, import nnU-Net ones",
	}
	var asJSON bool
	info := &cobra.Command{
		Use:   "info [DIR]",
		Short: "describe a model folder (default: the built-in baseline) and verify its checksums",
		Long: `Info prints a model's plan (spacing, region of interest, patch, intensity
normalisation), its two networks (localiser and segmenter) with their
parameter counts, the training recipe recorded in the weights, and checks the
weights against the SHA-256 checksums in its MODEL_CARD.md.`,
		Example: `  otoseg model info
  otoseg model info mymodel --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return runModelInfo(cmd, dir, asJSON)
		},
	}
	info.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(info, newImportNNUNetCmd())
	return cmd
}

type modelInfo struct {
	Model         string            `json:"model"`
	TargetSpacing [3]float64        `json:"target_spacing_mm"`
	ROISizeMM     [3]float64        `json:"roi_size_mm"`
	PatchSize     [3]int            `json:"patch_size"`
	Labels        map[int]string    `json:"labels"`
	Segmenter     netInfo           `json:"segmenter"`
	Locator       netInfo           `json:"locator"`
	Recipe        map[string]string `json:"recipe"`
	Checksums     []string          `json:"checksums"`
}

type netInfo struct {
	Config     unet.Config `json:"config"`
	Parameters int         `json:"parameters"`
}

func describeNet(n *unet.UNet) netInfo {
	c := 0
	for _, p := range n.Params() {
		c += len(p.Data)
	}
	return netInfo{Config: n.Config(), Parameters: c}
}

func runModelInfo(cmd *cobra.Command, dir string, asJSON bool) error {
	if dir != "" && nnunet.IsModelDir(dir) {
		return runNNUNetModelInfo(cmd, dir, asJSON)
	}
	m, name, err := loadModelOrBaseline(dir)
	if err != nil {
		return err
	}
	var fsys fs.FS = models.Baseline()
	if dir != "" {
		fsys = os.DirFS(dir)
	}
	sums, err := segment.VerifyChecksums(fsys)
	if err != nil {
		return fmt.Errorf("model %s: %w", name, err)
	}
	recipe := map[string]string{}
	for k, v := range m.Meta {
		if k != "architecture" {
			recipe[k] = v
		}
	}
	mi := modelInfo{Model: name, TargetSpacing: m.Plan.TargetSpacing, ROISizeMM: m.Plan.ROISizeMM, PatchSize: m.Plan.PatchSize,
		Labels: m.Plan.Labels, Segmenter: describeNet(m.Seg), Locator: describeNet(m.Locator), Recipe: recipe, Checksums: sums}
	w := cmd.OutOrStdout()
	if asJSON {
		b, _ := json.MarshalIndent(mi, "", "  ")
		_, err := fmt.Fprintln(w, string(b))
		return err
	}
	fmt.Fprintf(w, "model        %s\n", name)
	fmt.Fprintf(w, "labels       %s\n", labelList(mi.Labels))
	fmt.Fprintf(w, "spacing      %.3g x %.3g x %.3g mm\n", mi.TargetSpacing[0], mi.TargetSpacing[1], mi.TargetSpacing[2])
	fmt.Fprintf(w, "ROI          %.3g x %.3g x %.3g mm, patch %v voxels\n", mi.ROISizeMM[0], mi.ROISizeMM[1], mi.ROISizeMM[2], mi.PatchSize)
	fmt.Fprintf(w, "intensity    clip [%.0f, %.0f] HU, z-score mean %.1f sd %.1f\n", m.Plan.Intensity.ClipLow, m.Plan.Intensity.ClipHigh, m.Plan.Intensity.Mean, m.Plan.Intensity.Std)
	fmt.Fprintf(w, "segmenter    features %v, %d classes, %d parameters\n", mi.Segmenter.Config.Features, mi.Segmenter.Config.NumClasses, mi.Segmenter.Parameters)
	fmt.Fprintf(w, "localiser    features %v at %.1f mm, %d parameters\n", mi.Locator.Config.Features, m.Plan.Locator.Spacing, mi.Locator.Parameters)
	keys := make([]string, 0, len(recipe))
	for k := range recipe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-22s %s\n", k, recipe[k])
	}
	for _, s := range sums {
		fmt.Fprintf(w, "checksum     %s\n", s)
	}
	return nil
}

// labelList writes a plan's labels in label order: "1 cochlea, 2 vestibule".
func labelList(labels map[int]string) string {
	var parts []string
	for _, l := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%d %s", l, labels[l]))
	}
	return strings.Join(parts, ", ")
}
