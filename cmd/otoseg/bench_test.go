package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestBenchEngineJSON(t *testing.T) {
	var out bytes.Buffer
	cmd := &cobra.Command{}
	err := runBenchEngine(cmd, benchEngineOptions{JSON: true, Threads: 2, Reps: 1, Rounds: 1, NoTorch: true, NoUNet: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Conv []struct {
			Shape          string   `json:"shape"`
			Pass           string   `json:"pass"`
			GFLOPS         float64  `json:"gflops"`
			TorchGFLOPS    *float64 `json:"torch_gflops"`
			FractionOfPeak float64  `json:"fraction_of_peak"`
		} `json:"conv"`
		UNet       map[string]*float64 `json:"unet"`
		PeakGFLOPS float64             `json:"peak_gflops"`
		Peak       struct {
			CPU  string `json:"cpu"`
			SIMD string `json:"simd"`
		} `json:"peak"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	if len(r.Conv) != 6 || r.Conv[0].Shape != "48^3x16" || r.Conv[1].Pass != "fwd+bwd" || !(r.Conv[5].GFLOPS > 0) || r.Conv[0].TorchGFLOPS != nil {
		t.Errorf("conv results %+v", r.Conv)
	}
	// The peak is measured in the same run, and every shape is a fraction
	// of it. (On a machine busy with other work the fraction can exceed 1:
	// the peak's and the shape's runs do not see the same load.)
	if !(r.PeakGFLOPS > 0) || r.Peak.CPU == "" || r.Peak.SIMD == "none" {
		t.Errorf("peak %v GFLOP/s, %+v", r.PeakGFLOPS, r.Peak)
	}
	for _, c := range r.Conv {
		if want := c.GFLOPS / r.PeakGFLOPS; !(c.FractionOfPeak > 0) || c.FractionOfPeak != want {
			t.Errorf("%s %s: fraction of peak %v (GFLOP/s %v over %v)", c.Shape, c.Pass, c.FractionOfPeak, c.GFLOPS, r.PeakGFLOPS)
		}
	}
	for _, k := range []string{"train_step_s", "infer96_s", "torch_train_step_s", "torch_infer96_s"} {
		if v, ok := r.UNet[k]; !ok || v != nil {
			t.Errorf("unet[%q] = %v, present %v; want present and null with --no-unet", k, v, ok)
		}
	}
}

func TestBenchEngineRejectsBadFlags(t *testing.T) {
	err := runBenchEngine(&cobra.Command{}, benchEngineOptions{Threads: 0, Reps: 1, Rounds: 1}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("threads 0: err = %v", err)
	}
}
