package nnunet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otoseg/otoseg/unet"
)

// canonicalName strips what wrappers add to a state dict's keys
// (DistributedDataParallel's "module.", torch.compile's "_orig_mod.") and
// reports whether the key is one of the duplicates PlainConvUNet registers:
// every block's conv and norm again under convs.N.all_modules.*, and the
// whole encoder again under decoder.encoder.* (the decoder keeps a
// reference to it). Those hold the same tensors and are skipped.
func canonicalName(k string) (string, bool) {
	for _, p := range []string{"module.", "_orig_mod."} {
		k = strings.TrimPrefix(k, p)
	}
	dup := strings.HasPrefix(k, "decoder.encoder.") || strings.Contains(k, ".all_modules.")
	return k, dup
}

// BuildNetwork builds otoseg's network for cfg and loads a checkpoint's
// state dict into it. Every parameter must be present with its shape, and
// every key of the checkpoint must be a parameter or a known duplicate:
// anything else means another architecture, named in the error.
func BuildNetwork(cfg unet.Config, ck *Checkpoint) (*unet.UNet, error) {
	u, err := unet.New(cfg)
	if err != nil {
		return nil, err
	}
	params := u.StateDict()
	seen := map[string]bool{}
	for _, k := range ck.Names {
		name, dup := canonicalName(k)
		if dup {
			continue
		}
		p, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("state dict key %s has no place in a PlainConvUNet of %d stages (another architecture, or a plan that does not match the checkpoint)", k, len(cfg.Features))
		}
		t := ck.Weights[k]
		if !slices.Equal(t.Shape, p.Shape) {
			return nil, fmt.Errorf("%s has shape %v, the plan's network wants %v", k, t.Shape, p.Shape)
		}
		copy(p.Data, t.Data)
		seen[name] = true
	}
	var missing []string
	for name := range params {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("checkpoint lacks %d of the network's %d parameters (first: %s)", len(missing), len(params), missing[0])
	}
	return u, nil
}
