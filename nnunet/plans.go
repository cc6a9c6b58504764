// Package nnunet speaks nnU-Net v2's formats: it reads a trained-model
// folder (plans.json, dataset.json, fold_N/checkpoint_final.pth), maps its
// PlainConvUNet onto otoseg's network (package unet), stores it as an otoseg
// model folder and predicts with it as nnU-Net's predictor does: crop to the
// non-zero box, CT normalisation from the plan's foreground intensities,
// resampling to the plan's spacing, Gaussian-weighted sliding window with
// mirroring, fold averaging, resampling back and argmax. What otoseg's
// network cannot be (a residual encoder, a 2-D configuration, another
// normalisation) is refused with an error naming it.
//
// Arrays are in nnU-Net's axis order, z y x (SimpleITK's), which is
// otoseg's voxel layout read slowest-first: volume index i + nx*(j + ny*k)
// is element [k][j][i].
package nnunet

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/otoseg/otoseg/unet"
)

// Intensity is nnU-Net's foreground intensity properties of one channel
// (from the dataset fingerprint), which CTNormalization uses.
type Intensity struct {
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Lower  float64 `json:"percentile_00_5"`
	Upper  float64 `json:"percentile_99_5"`
	Median float64 `json:"median,omitempty"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
}

// Resampling is one of nnU-Net's resample_data_or_seg_to_shape settings.
type Resampling struct {
	Order          int   `json:"order"`
	OrderZ         int   `json:"order_z"`
	ForceSeparateZ *bool `json:"force_separate_z"`
}

// Plan is what otoseg needs from one configuration of a plans.json.
type Plan struct {
	DatasetName   string `json:"dataset_name"`
	PlansName     string `json:"plans_name"`
	Configuration string `json:"configuration"`
	// Transpose is nnU-Net's transpose_forward: the array nnU-Net works on
	// has axis i = the image's axis Transpose[i] (z y x order); patch and
	// spacing are in that order. Nil means the identity.
	Transpose     []int      `json:"transpose_forward,omitempty"`
	PatchSize     [3]int     `json:"patch_size"` // z y x voxels (transposed)
	Spacing       [3]float64 `json:"spacing"`    // z y x mm (transposed)
	Intensity     Intensity  `json:"intensity"`
	Data          Resampling `json:"resampling_data"`
	Probabilities Resampling `json:"resampling_probabilities"`
	// Net is the network without its class count (dataset.json gives it).
	Net unet.Config `json:"network"`
}

// maxPlansBytes caps plans.json and dataset.json (real ones are kilobytes).
const maxPlansBytes = 16 << 20

func readJSONFile(name string) (map[string]json.RawMessage, error) {
	b, err := readLimited(name, maxPlansBytes)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// ReadPlan reads configuration cfg (e.g. "3d_fullres") of a plans.json.
func ReadPlan(name, cfg string) (*Plan, error) {
	m, err := readJSONFile(name)
	if err != nil {
		return nil, err
	}
	p, err := parsePlan(m, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// ParsePlan parses plans.json bytes (for fuzzing and tests).
func ParsePlan(b []byte, cfg string) (*Plan, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return parsePlan(m, cfg)
}

func parsePlan(m map[string]json.RawMessage, cfgName string) (*Plan, error) {
	p := &Plan{Configuration: cfgName}
	_ = json.Unmarshal(m["dataset_name"], &p.DatasetName)
	_ = json.Unmarshal(m["plans_name"], &p.PlansName)
	var tf []int
	if raw, ok := m["transpose_forward"]; ok {
		if err := json.Unmarshal(raw, &tf); err != nil {
			return nil, fmt.Errorf("transpose_forward: %w", err)
		}
		if err := checkPerm(tf); err != nil {
			return nil, fmt.Errorf("transpose_forward %v: %w", tf, err)
		}
		if !slices.Equal(tf, []int{0, 1, 2}) {
			p.Transpose = tf
		}
	}
	var cfgs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(m["configurations"], &cfgs); err != nil {
		return nil, fmt.Errorf("configurations: %w", err)
	}
	c, err := resolveConfig(cfgs, cfgName)
	if err != nil {
		return nil, err
	}
	if err := p.parseConfig(c); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", cfgName, err)
	}
	var props map[string]Intensity
	if err := json.Unmarshal(m["foreground_intensity_properties_per_channel"], &props); err != nil {
		return nil, fmt.Errorf("foreground_intensity_properties_per_channel: %w", err)
	}
	in, ok := props["0"]
	if !ok {
		return nil, errors.New("foreground_intensity_properties_per_channel has no channel 0")
	}
	for _, v := range []float64{in.Mean, in.Std, in.Lower, in.Upper} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("foreground intensity properties are not finite")
		}
	}
	if in.Lower > in.Upper {
		return nil, fmt.Errorf("foreground intensity percentile_00_5 %g above percentile_99_5 %g", in.Lower, in.Upper)
	}
	p.Intensity = in
	return p, nil
}

// resolveConfig applies nnU-Net's "inherits_from": the parent's entries,
// overridden by the child's.
func resolveConfig(cfgs map[string]map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	chain := []string{}
	for n := name; ; {
		c, ok := cfgs[n]
		if !ok {
			have := make([]string, 0, len(cfgs))
			for k := range cfgs {
				have = append(have, k)
			}
			slices.Sort(have)
			return nil, fmt.Errorf("no configuration %q (have %s)", n, strings.Join(have, ", "))
		}
		if slices.Contains(chain, n) || len(chain) > 8 {
			return nil, fmt.Errorf("configuration %q: inherits_from loops", name)
		}
		chain = append(chain, n)
		raw, ok := c["inherits_from"]
		if !ok {
			break
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("configuration %q: inherits_from: %w", name, err)
		}
	}
	out := map[string]json.RawMessage{}
	for i := len(chain) - 1; i >= 0; i-- {
		for k, v := range cfgs[chain[i]] {
			out[k] = v
		}
	}
	return out, nil
}

func (p *Plan) parseConfig(c map[string]json.RawMessage) error {
	var patch []int
	if err := json.Unmarshal(c["patch_size"], &patch); err != nil {
		return fmt.Errorf("patch_size: %w", err)
	}
	if len(patch) == 2 {
		return errors.New("a 2-D configuration: otoseg runs 3-D networks only (import 3d_fullres)")
	}
	if len(patch) != 3 {
		return fmt.Errorf("patch_size %v is not 3-D", patch)
	}
	var spacing []float64
	if err := json.Unmarshal(c["spacing"], &spacing); err != nil || len(spacing) != 3 {
		return fmt.Errorf("spacing %s: want three numbers", c["spacing"])
	}
	for a := range 3 {
		if patch[a] < 1 || patch[a] > 1024 {
			return fmt.Errorf("patch_size %v out of range 1..1024", patch)
		}
		if !(spacing[a] > 1e-3 && spacing[a] < 100) {
			return fmt.Errorf("spacing %v out of range", spacing)
		}
		p.PatchSize[a], p.Spacing[a] = patch[a], spacing[a]
	}
	var norm []string
	if err := json.Unmarshal(c["normalization_schemes"], &norm); err != nil {
		return fmt.Errorf("normalization_schemes: %w", err)
	}
	if len(norm) != 1 {
		return fmt.Errorf("%d input channels (normalization_schemes %v): otoseg takes one CT channel", len(norm), norm)
	}
	if norm[0] != "CTNormalization" {
		return fmt.Errorf("normalization %s: otoseg maps only nnU-Net's CTNormalization (a CT model)", norm[0])
	}
	p.Data = Resampling{Order: 3}
	p.Probabilities = Resampling{Order: 1}
	for key, r := range map[string]*Resampling{"resampling_fn_data_kwargs": &p.Data, "resampling_fn_probabilities_kwargs": &p.Probabilities} {
		if raw, ok := c[key]; ok {
			if err := json.Unmarshal(raw, r); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			for _, o := range []int{r.Order, r.OrderZ} {
				if _, err := interpOf(o); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
		}
	}
	for _, key := range []string{"resampling_fn_data", "resampling_fn_probabilities"} {
		var fn string
		if raw, ok := c[key]; ok {
			_ = json.Unmarshal(raw, &fn)
			if fn != "resample_data_or_seg_to_shape" {
				return fmt.Errorf("%s %q: otoseg implements resample_data_or_seg_to_shape only", key, fn)
			}
		}
	}
	cfg, err := parseArchitecture(c)
	if err != nil {
		return err
	}
	p.Net = cfg
	return nil
}

// checkPerm accepts a permutation of 0, 1, 2.
func checkPerm(p []int) error {
	if len(p) != 3 {
		return errors.New("want a permutation of 0, 1, 2")
	}
	var seen [3]bool
	for _, v := range p {
		if v < 0 || v > 2 || seen[v] {
			return errors.New("want a permutation of 0, 1, 2")
		}
		seen[v] = true
	}
	return nil
}

// perm is the plan's transpose_forward as an array (identity when unset).
func (p *Plan) perm() [3]int {
	if p.Transpose == nil {
		return [3]int{0, 1, 2}
	}
	return [3]int{p.Transpose[0], p.Transpose[1], p.Transpose[2]}
}
