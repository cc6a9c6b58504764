// Package segment turns a CT scan into a labelled inner ear on every side
// that has one: localise the ears, cut a canonical region of interest per
// ear, predict it with a sliding window, paste the probabilities back into
// the scan's own grid, clean up, and report volumes and timings.
package segment

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/otoseg/otoseg/nn"
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
	// Meta is the segmenter's weights metadata (training recipe, metrics);
	// LocatorMeta the localiser's.
	Meta, LocatorMeta map[string]string
}

// LoadModel reads a model folder: plans.json, segmenter.safetensors and
// locator.safetensors. The networks must match the plan's configurations.
func LoadModel(dir string) (*Model, error) {
	m, err := LoadModelFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.Dir = dir
	return m, nil
}

// LoadModelFS reads a model from a file system, such as the baseline model
// embedded in the otoseg binary.
func LoadModelFS(fsys fs.FS) (*Model, error) {
	b, err := fs.ReadFile(fsys, PlansFile)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", PlansFile, err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", PlansFile, err)
	}
	m := &Model{Plan: &p}
	if m.Seg, m.Meta, err = loadNet(fsys, SegmenterFile, p.Network); err != nil {
		return nil, err
	}
	if m.Locator, m.LocatorMeta, err = loadNet(fsys, LocatorFile, p.Locator.Network); err != nil {
		return nil, err
	}
	// Segmentation runs the localiser, then the segmenter.
	m.Locator.ShareWorkspace(m.Seg)
	return m, nil
}

// maxWeightsBytes caps a weights file: otoseg's models are megabytes.
const maxWeightsBytes = 1 << 30

func loadNet(fsys fs.FS, name string, want json.RawMessage) (*unet.UNet, map[string]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxWeightsBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxWeightsBytes {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", name, maxWeightsBytes)
	}
	st, err := nn.DecodeSafetensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	net, err := unet.FromSafetensors(st)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	var cfg unet.Config
	if err := json.Unmarshal(want, &cfg); err != nil {
		return nil, nil, fmt.Errorf("plan's network configuration for %s: %w", name, err)
	}
	got, _ := json.Marshal(net.Config())
	exp, _ := json.Marshal(cfg)
	if string(got) != string(exp) {
		return nil, nil, fmt.Errorf("%s holds network %s but the plan says %s", name, got, exp)
	}
	return net, st.Metadata, nil
}
