package infer

import (
	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/unet"
)

// UNet adapts a U-Net to Net: the highest-resolution logits of an
// inference-mode forward pass (no gradient bookkeeping).
type UNet struct{ Net *unet.UNet }

// Logits implements Net.
func (n UNet) Logits(x *nn.Tensor) (*nn.Tensor, error) {
	if err := n.Net.CheckInput(x); err != nil {
		return nil, err
	}
	return n.Net.Forward(x, false)[0], nil
}
