// Package segment turns a CT scan into a labelled inner ear on every side
// that has one: localise the ears, cut a canonical region of interest per
// ear, predict it with a sliding window, paste the probabilities back into
// the scan's own grid, clean up, and report volumes and timings.
package segment

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/unet"
)

// Files of a model folder.
const (
	PlansFile     = "plans.json"
	SegmenterFile = "segmenter.safetensors"
	LocatorFile   = "locator.safetensors"
	CardFile      = "MODEL_CARD.md"
)

// Model is a trained otoseg model: its plan and its two networks.
type Model struct {
	Dir     string
	Plan    *plan.Plan
	Seg     *unet.UNet
	Locator *unet.UNet
	// Meta is the segmenter's weights metadata (training recipe, metrics).
	Meta map[string]string
}

// LoadModel reads a model folder: plans.json, segmenter.safetensors and
// locator.safetensors. The networks must match the plan's configurations.
func LoadModel(dir string) (*Model, error) {
	p, err := plan.Load(filepath.Join(dir, PlansFile))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m := &Model{Dir: dir, Plan: p}
	var meta map[string]string
	if m.Seg, meta, err = loadNet(filepath.Join(dir, SegmenterFile), p.Network); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.Meta = meta
	if m.Locator, _, err = loadNet(filepath.Join(dir, LocatorFile), p.Locator.Network); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return m, nil
}

func loadNet(path string, want json.RawMessage) (*unet.UNet, map[string]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, err
	}
	net, meta, err := unet.Load(path)
	if err != nil {
		return nil, nil, err
	}
	var cfg unet.Config
	if err := json.Unmarshal(want, &cfg); err != nil {
		return nil, nil, fmt.Errorf("plan's network configuration for %s: %w", filepath.Base(path), err)
	}
	got, _ := json.Marshal(net.Config())
	exp, _ := json.Marshal(cfg)
	if string(got) != string(exp) {
		return nil, nil, fmt.Errorf("%s holds network %s but the plan says %s", path, got, exp)
	}
	return net, meta, nil
}
