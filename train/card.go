package train

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// card is the model card without its checksums (segment.Model.Save adds
// them): what the model is, what it was trained on, how, what it scored and
// its licence.
func (r *run) card() string {
	p, recipe := r.plan, r.recipe
	var b strings.Builder
	fmt.Fprintf(&b, "# otoseg model card\n\n")
	fmt.Fprintf(&b, "Inner-ear (bony labyrinth) segmentation of temporal-bone and head CT: labels %s.\n\n", labelList(p.Labels))
	if strings.Contains(recipe["trained_on"], "phantom") || recipe["synthetic"] == "true" {
		fmt.Fprintf(&b, "**Trained on synthetic data.** The training scans are otoseg phantoms (simulated CT with exact labels), not patient scans. Figures below are on phantoms; accuracy on clinical CT is unknown until measured there.\n\n")
	}
	fmt.Fprintf(&b, "## Data\n\n- manifest: `%s`\n- training cases: %s, validation cases: %s\n- fingerprint: %d cases, %d ears, largest ear extent %.1f x %.1f x %.1f mm\n\n",
		recipe["trained_on"], recipe["train_cases"], recipe["validation_cases"], p.Fingerprint.Cases, p.Fingerprint.Ears,
		p.Fingerprint.EarExtentMM[0], p.Fingerprint.EarExtentMM[1], p.Fingerprint.EarExtentMM[2])
	fmt.Fprintf(&b, "## Plan\n\n- target spacing %.3g x %.3g x %.3g mm, region of interest %.0f x %.0f x %.0f mm, patch %v\n",
		p.TargetSpacing[0], p.TargetSpacing[1], p.TargetSpacing[2], p.ROISizeMM[0], p.ROISizeMM[1], p.ROISizeMM[2], p.PatchSize)
	fmt.Fprintf(&b, "- CT normalisation: clip [%.0f, %.0f] HU, z-score mean %.1f sd %.1f (foreground statistics)\n", p.Intensity.ClipLow, p.Intensity.ClipHigh, p.Intensity.Mean, p.Intensity.Std)
	fmt.Fprintf(&b, "- segmenter network: `%s`\n- localiser: %.1f mm voxels, patch %v, network `%s`\n\n", p.Network, p.Locator.Spacing, p.Locator.PatchSize, p.Locator.Network)
	fmt.Fprintf(&b, "## Recipe\n\n- %s epochs x %s steps, batch %s, optimiser %s, lr %s (poly), seed %s, init `%s`\n- Dice + cross-entropy with deep supervision, nnU-Net augmentations, 33%% foreground oversampling\n- trained in %s s on %d threads (%s/%s), %s\n\n",
		recipe["epochs"], recipe["steps_per_epoch"], recipe["batch"], recipe["optimizer"], recipe["lr"], recipe["seed"], recipe["init"],
		recipe["train_seconds"], runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "## Metrics\n\n")
	if n := len(r.curves); n > 0 && r.curves[n-1].Validated {
		last := r.curves[n-1]
		fmt.Fprintf(&b, "- final validation Dice (%s, labyrinth as one structure): %.4f; per class %s\n", last.Network, last.ValDice, fmtDice(last.ValDiceClass))
	}
	if c := recipe["calibration"]; c != "" {
		fmt.Fprintf(&b, "- calibration %s\n", c)
	}
	fmt.Fprintf(&b, "- see `training.csv` / `training.png`, and the README for evaluation on unseen phantom cohorts\n\n")
	fmt.Fprintf(&b, "## Licence\n\nWeights and card: CC BY 4.0. Code: see the otoseg repository licence.\n\n")
	return b.String()
}

// labelList writes a plan's labels as "1 cochlea, 2 vestibule, ...".
func labelList(labels map[int]string) string {
	var parts []string
	for l := 1; l <= 255 && len(parts) < len(labels); l++ {
		if n, ok := labels[l]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", l, n))
		}
	}
	return strings.Join(parts, ", ")
}
