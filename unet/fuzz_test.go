package unet

import (
	"bytes"
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// FuzzLoad feeds arbitrary bytes through the weights reader: the safetensors
// decoder, the metadata and architecture checks and the tensor checks. It
// must return an error or a network whose parameters match, never panic.
func FuzzLoad(f *testing.F) {
	c := Config{InChannels: 1, NumClasses: 2, Features: []int{1, 2}, ConvsPerStage: 1, NegativeSlope: 0.01, NormEps: 1e-5}
	u, err := New(c)
	if err != nil {
		f.Fatal(err)
	}
	u.Init(1)
	var buf bytes.Buffer
	meta := map[string]string{"format": "pt", "model": "PlainConvUNet", "version": WeightsVersion, "architecture": c.MarshalConfig()}
	if err := nn.WriteSafetensors(&buf, nn.ParamTensors(u.Params()), meta); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := nn.DecodeSafetensors(b)
		if err != nil {
			return
		}
		v, err := FromSafetensors(st)
		if err != nil {
			return
		}
		for _, p := range v.Params() {
			if tt, ok := st.Get(p.Name); !ok || len(tt.Data) != len(p.Data) {
				t.Fatalf("%s loaded without a matching tensor", p.Name)
			}
		}
	})
}
