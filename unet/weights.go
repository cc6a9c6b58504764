package unet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/otoseg/otoseg/nn"
)

// Weights files are safetensors (see nn.SaveSafetensors) whose metadata
// holds:
//
//	"format":       "pt" (what PyTorch tooling expects of a torch state dict)
//	"model":        "PlainConvUNet"
//	"version":      WeightsVersion
//	"architecture": the Config as JSON
//
// plus whatever the caller adds (a model's plans, training provenance).
const WeightsVersion = "1"

// Save writes the parameters and configuration to path atomically; extra
// metadata is stored alongside (it may not override the keys above).
func (u *UNet) Save(path string, extra map[string]string) error {
	meta := map[string]string{}
	for k, v := range extra {
		meta[k] = v
	}
	for k, v := range map[string]string{"format": "pt", "model": "PlainConvUNet", "version": WeightsVersion, "architecture": u.cfg.MarshalConfig()} {
		if _, taken := extra[k]; taken {
			return fmt.Errorf("save weights %s: metadata key %q is reserved", path, k)
		}
		meta[k] = v
	}
	return nn.SaveSafetensors(path, nn.ParamTensors(u.params), meta)
}

// Load reads a weights file written by Save (or by PyTorch with the same
// metadata), builds the network its architecture describes and returns it
// with the file's metadata.
func Load(path string) (*UNet, map[string]string, error) {
	st, err := nn.LoadSafetensors(path)
	if err != nil {
		return nil, nil, err
	}
	u, err := FromSafetensors(st)
	if err != nil {
		return nil, nil, fmt.Errorf("load weights %s: %w", path, err)
	}
	return u, st.Metadata, nil
}

// FromSafetensors builds a network from decoded weights.
func FromSafetensors(st *nn.Safetensors) (*UNet, error) {
	if m := st.Metadata["model"]; m != "PlainConvUNet" {
		return nil, fmt.Errorf("metadata model is %q, want PlainConvUNet", m)
	}
	if v := st.Metadata["version"]; v != WeightsVersion {
		return nil, fmt.Errorf("weights version %q, this otoseg reads version %s", v, WeightsVersion)
	}
	arch, ok := st.Metadata["architecture"]
	if !ok {
		return nil, fmt.Errorf("metadata has no architecture")
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(arch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	// Check the tensors against the architecture before building it, so a
	// file cannot make us allocate more than it holds.
	for _, ps := range c.paramShapes() {
		t, ok := st.Get(ps.name)
		if !ok {
			return nil, fmt.Errorf("weights lack %s", ps.name)
		}
		if !slices.Equal(t.Shape, ps.shape) {
			return nil, fmt.Errorf("weights %s have shape %v, the network needs %v", ps.name, t.Shape, ps.shape)
		}
	}
	u, err := New(c)
	if err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	if err := u.SetWeights(st); err != nil {
		return nil, err
	}
	return u, nil
}

// SetWeights copies every parameter from st, which must hold exactly the
// network's parameters with matching shapes.
func (u *UNet) SetWeights(st *nn.Safetensors) error {
	seen := map[string]bool{}
	for _, p := range u.params {
		t, ok := st.Get(p.Name)
		if !ok {
			return fmt.Errorf("weights lack %s", p.Name)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("weights %s have shape %v, the network needs %v", p.Name, t.Shape, p.Shape)
		}
		copy(p.Data, t.Data)
		seen[p.Name] = true
	}
	var extra []string
	for _, t := range st.Tensors {
		if !seen[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		if len(extra) > 5 {
			extra = append(extra[:5], "...")
		}
		return fmt.Errorf("weights hold tensors the network does not have: %s", strings.Join(extra, ", "))
	}
	return nil
}

// StateDict returns the parameters by name (sharing their data), like
// PyTorch's state_dict.
func (u *UNet) StateDict() map[string]*nn.Param {
	m := make(map[string]*nn.Param, len(u.params))
	for _, p := range u.params {
		m[p.Name] = p
	}
	return m
}

type paramShape struct {
	name  string
	shape []int
}

// paramShapes lists the parameters New(c) creates, in the same order,
// without allocating them.
func (c Config) paramShapes() []paramShape {
	var out []paramShape
	add := func(name string, shape ...int) { out = append(out, paramShape{name, shape}) }
	stage := func(prefix string, in, f int, k [3]int) {
		for j := range c.ConvsPerStage {
			p := fmt.Sprintf("%s.convs.%d.", prefix, j)
			add(p+"conv.weight", f, in, k[0], k[1], k[2])
			add(p+"conv.bias", f)
			add(p+"norm.weight", f)
			add(p+"norm.bias", f)
			in = f
		}
	}
	n := len(c.Features)
	in := c.InChannels
	for s, f := range c.Features {
		stage(fmt.Sprintf("encoder.stages.%d.0", s), in, f, c.stageKernel(s))
		in = f
	}
	for s := range n - 1 {
		st := c.stageStride(n - 1 - s)
		add(fmt.Sprintf("decoder.transpconvs.%d.weight", s), c.Features[n-1-s], c.Features[n-2-s], st[0], st[1], st[2])
		add(fmt.Sprintf("decoder.transpconvs.%d.bias", s), c.Features[n-2-s])
	}
	for s := range n - 1 {
		f := c.Features[n-2-s]
		stage(fmt.Sprintf("decoder.stages.%d", s), 2*f, f, c.stageKernel(n-2-s))
	}
	for s := range n - 1 {
		f := c.Features[n-2-s]
		add(fmt.Sprintf("decoder.seg_layers.%d.weight", s), c.NumClasses, f, 1, 1, 1)
		add(fmt.Sprintf("decoder.seg_layers.%d.bias", s), c.NumClasses)
	}
	return out
}
