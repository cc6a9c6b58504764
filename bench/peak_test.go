package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// MeasurePeak runs the FMA loop of the kernels' vector width and names the CPU.
func TestMeasurePeak(t *testing.T) {
	p, err := MeasurePeak(context.Background(), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, simd, _ := fmaLoop(nn.KernelPath()); simd != "none" && (!(p.OneCore > 0) || !(p.AllCores > 0) || p.SIMD != simd) {
		t.Errorf("peak %+v", p)
	}
	if p.CPU == "" || (strings.Contains(p.CPU, "family") && !strings.Contains(p.CPU, "model")) {
		t.Errorf("CPU %q", p.CPU)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, simd, _ := fmaLoop(nn.KernelPath()); simd != "none" {
		if _, err := MeasurePeak(ctx, 1, 1); err == nil {
			t.Error("no error for a cancelled context")
		}
	}
}
