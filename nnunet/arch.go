package nnunet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/otoseg/otoseg/unet"
)

// archKwargs is dynamic_network_architectures' PlainConvUNet arguments as
// plans.json stores them (nnU-Net >= 2.4, "architecture": {"arch_kwargs"}).
type archKwargs struct {
	NStages      int             `json:"n_stages"`
	Features     []int           `json:"features_per_stage"`
	ConvOp       string          `json:"conv_op"`
	Kernels      [][]int         `json:"kernel_sizes"`
	Strides      [][]int         `json:"strides"`
	ConvsEncoder json.RawMessage `json:"n_conv_per_stage"`
	ConvsDecoder json.RawMessage `json:"n_conv_per_stage_decoder"`
	ConvBias     *bool           `json:"conv_bias"`
	NormOp       string          `json:"norm_op"`
	NormKwargs   map[string]any  `json:"norm_op_kwargs"`
	DropoutOp    *string         `json:"dropout_op"`
	Nonlin       string          `json:"nonlin"`
	NonlinKwargs map[string]any  `json:"nonlin_kwargs"`
	NonlinFirst  bool            `json:"nonlin_first"`
}

// parseArchitecture maps a configuration's network onto unet.Config (all
// but NumClasses), from either plans layout: "architecture" (nnU-Net >=
// 2.4) or the older UNet_class_name / conv_kernel_sizes /
// pool_op_kernel_sizes entries.
func parseArchitecture(c map[string]json.RawMessage) (unet.Config, error) {
	var a archKwargs
	if raw, ok := c["architecture"]; ok {
		var arch struct {
			Class  string          `json:"network_class_name"`
			Kwargs json.RawMessage `json:"arch_kwargs"`
		}
		if err := json.Unmarshal(raw, &arch); err != nil {
			return unet.Config{}, fmt.Errorf("architecture: %w", err)
		}
		if err := checkClass(arch.Class); err != nil {
			return unet.Config{}, err
		}
		if err := json.Unmarshal(arch.Kwargs, &a); err != nil {
			return unet.Config{}, fmt.Errorf("architecture.arch_kwargs: %w", err)
		}
	} else {
		var err error
		if a, err = legacyArch(c); err != nil {
			return unet.Config{}, err
		}
	}
	return a.config()
}

func checkClass(class string) error {
	short := class[strings.LastIndex(class, ".")+1:]
	switch {
	case short == "PlainConvUNet":
		return nil
	case strings.Contains(short, "Res"):
		return fmt.Errorf("network %s: a residual-encoder U-Net (nnU-Net ResEnc) cannot be mapped; otoseg runs PlainConvUNet", class)
	case class == "":
		return errors.New("architecture without network_class_name")
	}
	return fmt.Errorf("network %s cannot be mapped; otoseg runs dynamic_network_architectures' PlainConvUNet", class)
}

// legacyArch reads the pre-2.4 plans layout.
func legacyArch(c map[string]json.RawMessage) (archKwargs, error) {
	var l struct {
		Class   string          `json:"UNet_class_name"`
		Base    int             `json:"UNet_base_num_features"`
		Max     int             `json:"unet_max_num_features"`
		Enc     json.RawMessage `json:"n_conv_per_stage_encoder"`
		Dec     json.RawMessage `json:"n_conv_per_stage_decoder"`
		Pool    [][]int         `json:"pool_op_kernel_sizes"`
		Kernels [][]int         `json:"conv_kernel_sizes"`
	}
	for k, dst := range map[string]any{"UNet_class_name": &l.Class, "UNet_base_num_features": &l.Base,
		"unet_max_num_features": &l.Max, "pool_op_kernel_sizes": &l.Pool, "conv_kernel_sizes": &l.Kernels} {
		raw, ok := c[k]
		if !ok {
			return archKwargs{}, fmt.Errorf("neither architecture nor %s: not an nnU-Net v2 configuration", k)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return archKwargs{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	l.Enc, l.Dec = c["n_conv_per_stage_encoder"], c["n_conv_per_stage_decoder"]
	if err := checkClass(l.Class); err != nil {
		return archKwargs{}, err
	}
	n := len(l.Kernels)
	if n < 2 || n > 8 || l.Base < 1 || l.Max < l.Base {
		return archKwargs{}, fmt.Errorf("UNet_base_num_features %d, unet_max_num_features %d, %d stages: out of range", l.Base, l.Max, n)
	}
	feats := make([]int, n)
	for i := range feats {
		feats[i] = min(l.Base<<i, l.Max)
	}
	t, f := true, "torch.nn.modules.conv.Conv3d"
	if len(l.Kernels[0]) == 2 {
		f = "torch.nn.modules.conv.Conv2d"
	}
	return archKwargs{NStages: n, Features: feats, ConvOp: f, Kernels: l.Kernels, Strides: l.Pool,
		ConvsEncoder: l.Enc, ConvsDecoder: l.Dec, ConvBias: &t, NormOp: "InstanceNorm3d",
		NormKwargs: map[string]any{"eps": 1e-5, "affine": true}, Nonlin: "LeakyReLU"}, nil
}

// convCounts reads n_conv_per_stage(_decoder): a number or one per stage.
func convCounts(raw json.RawMessage, n int, what string) ([]int, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s missing", what)
	}
	var one int
	if json.Unmarshal(raw, &one) == nil {
		out := make([]int, n)
		for i := range out {
			out[i] = one
		}
		return out, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(list) != n {
		return nil, fmt.Errorf("%s has %d entries for %d stages", what, len(list), n)
	}
	return list, nil
}

func (a archKwargs) config() (unet.Config, error) {
	fail := func(format string, args ...any) (unet.Config, error) {
		return unet.Config{}, fmt.Errorf(format, args...)
	}
	if strings.Contains(a.ConvOp, "Conv2d") {
		return fail("conv_op %s: a 2-D configuration; otoseg runs 3-D networks only (import 3d_fullres)", a.ConvOp)
	}
	if !strings.HasSuffix(a.ConvOp, "Conv3d") {
		return fail("conv_op %q: not Conv3d", a.ConvOp)
	}
	n := len(a.Features)
	if n < 2 || n > 8 || (a.NStages != 0 && a.NStages != n) {
		return fail("n_stages %d with %d features_per_stage: want 2..8 stages", a.NStages, n)
	}
	if len(a.Kernels) != n || len(a.Strides) != n {
		return fail("%d kernel_sizes and %d strides for %d stages", len(a.Kernels), len(a.Strides), n)
	}
	enc, err := convCounts(a.ConvsEncoder, n, "n_conv_per_stage")
	if err != nil {
		return unet.Config{}, err
	}
	dec, err := convCounts(a.ConvsDecoder, n-1, "n_conv_per_stage_decoder")
	if err != nil {
		return unet.Config{}, err
	}
	for _, v := range append(enc, dec...) {
		if v != enc[0] {
			return fail("convolutions per stage %v (encoder) and %v (decoder) differ; otoseg's U-Net has one count for all stages", enc, dec)
		}
	}
	if a.ConvBias == nil || !*a.ConvBias {
		return fail("conv_bias false: otoseg's layers carry biases (nnU-Net's plans set conv_bias true)")
	}
	if !strings.HasSuffix(a.NormOp, "InstanceNorm3d") {
		return fail("norm_op %s: otoseg maps InstanceNorm3d only", a.NormOp)
	}
	eps := 1e-5
	if v, ok := a.NormKwargs["eps"].(float64); ok {
		eps = v
	}
	if v, ok := a.NormKwargs["affine"].(bool); ok && !v {
		return fail("norm_op_kwargs affine false: otoseg's instance norm is affine")
	}
	if a.DropoutOp != nil && *a.DropoutOp != "" {
		return fail("dropout_op %s: not supported", *a.DropoutOp)
	}
	if !strings.HasSuffix(a.Nonlin, "LeakyReLU") {
		return fail("nonlin %s: otoseg maps LeakyReLU only", a.Nonlin)
	}
	if a.NonlinFirst {
		return fail("nonlin_first: otoseg's blocks normalise before the activation")
	}
	slope := 0.01 // torch.nn.LeakyReLU's default, which nnU-Net keeps
	if v, ok := a.NonlinKwargs["negative_slope"].(float64); ok {
		slope = v
	}
	cfg := unet.Config{InChannels: 1, NumClasses: 2, Features: append([]int(nil), a.Features...),
		ConvsPerStage: enc[0], NegativeSlope: slope, NormEps: eps}
	for s := range n {
		if len(a.Kernels[s]) != 3 || len(a.Strides[s]) != 3 {
			return fail("stage %d kernel %v stride %v: want three sizes each", s, a.Kernels[s], a.Strides[s])
		}
		cfg.Kernels = append(cfg.Kernels, [3]int{a.Kernels[s][0], a.Kernels[s][1], a.Kernels[s][2]})
		cfg.Strides = append(cfg.Strides, [3]int{a.Strides[s][0], a.Strides[s][1], a.Strides[s][2]})
	}
	if err := cfg.Validate(); err != nil {
		return unet.Config{}, err
	}
	return cfg, nil
}
