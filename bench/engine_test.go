package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunEngineReportsEveryShapeAndPass(t *testing.T) {
	calls := 0
	fake := func(ctx context.Context, threads, reps int) (float64, float64, error) {
		calls++
		if threads != 1 || reps != 1 {
			t.Errorf("U-Net runner got threads=%d reps=%d, want 1, 1", threads, reps)
		}
		return 1.5, 2.5, nil
	}
	r, err := RunEngine(context.Background(), Options{Threads: 1, Reps: 1, Shapes: []ConvShape{{8, 4}, {6, 8}}, UNet: fake})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("U-Net runner called %d times", calls)
	}
	if len(r.Conv) != 4 {
		t.Fatalf("got %d conv results, want 4", len(r.Conv))
	}
	for i, want := range []struct{ shape, pass string }{{"8^3x4", "fwd"}, {"8^3x4", "fwd+bwd"}, {"6^3x8", "fwd"}, {"6^3x8", "fwd+bwd"}} {
		c := r.Conv[i]
		if c.Shape != want.shape || c.Pass != want.pass || !(c.GFLOPS > 0) || !(c.Seconds > 0) || c.TorchGFLOPS != nil {
			t.Errorf("conv[%d] = %+v, want %v with positive figures and no torch", i, c, want)
		}
	}
	var js map[string]any
	b, _ := json.Marshal(r)
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	u, ok := js["unet"].(map[string]any)
	if !ok || u["train_step_s"] != 1.5 || u["infer96_s"] != 2.5 || u["torch_train_step_s"] != nil {
		t.Errorf("unet JSON = %v", js["unet"])
	}
	var tab bytes.Buffer
	r.WriteTable(&tab)
	for _, s := range []string{"8^3x4 fwd+bwd", "train step 2x64^3", "1.500", "PyTorch side skipped"} {
		if !strings.Contains(tab.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tab.String())
		}
	}
}

func TestMergeRoundsTakesMedians(t *testing.T) {
	mk := func(g, tg, train float64) *Report {
		return &Report{Conv: []ConvResult{{Shape: "8^3x4", Pass: "fwd", GFLOPS: g, Seconds: 1 / g, TorchGFLOPS: ptr(tg)}},
			UNet: UNetResult{TrainStepS: ptr(train)}}
	}
	r := mergeRounds([]*Report{mk(10, 5, 3), mk(30, 1, 1), mk(20, 9, 2)})
	c := r.Conv[0]
	if r.Rounds != 3 || c.GFLOPS != 20 || *c.TorchGFLOPS != 5 || *r.UNet.TrainStepS != 2 || r.UNet.TorchTrainStepS != nil {
		t.Errorf("merged %+v %+v, want medians 20, 5, 2 and no torch U-Net", c, r.UNet)
	}
}

func TestRunEngineRejectsBadThreads(t *testing.T) {
	if _, err := RunEngine(context.Background(), Options{Threads: 0}); err == nil {
		t.Fatal("threads 0 accepted")
	}
	if _, err := RunEngine(context.Background(), Options{Threads: 2, CPUTime: true}); err == nil {
		t.Fatal("CPU time with 2 threads accepted")
	}
}

func TestRunEngineCPUTime(t *testing.T) {
	r, err := RunEngine(context.Background(), Options{Threads: 1, Reps: 1, CPUTime: true, Shapes: []ConvShape{{8, 4}},
		UNet: func(context.Context, int, int) (float64, float64, error) { return 1, 1, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Clock != "cpu" || !(r.Conv[0].Seconds > 0) || r.UNet.TrainStepS != nil {
		t.Errorf("report %+v: want cpu clock, positive times, U-Net skipped", r)
	}
}

// TestTorchScript runs the embedded PyTorch script's convolution part with
// Debian's interpreter (required: the benchmark's comparison depends on it).
func TestTorchScript(t *testing.T) {
	const py = "/usr/bin/python3"
	if !TorchAvailable(context.Background(), py) {
		t.Fatalf("%s cannot import torch (install python3-torch)", py)
	}
	tr, err := runTorch(context.Background(), py, 1, 1, "conv", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Torch == "" || len(tr.Conv) != 6 {
		t.Fatalf("torch result %+v: want a version and 6 conv figures", tr)
	}
	for _, c := range tr.Conv {
		if !(c.GFLOPS > 0) || !(c.Seconds > 0) {
			t.Errorf("torch figure %+v not positive", c)
		}
	}
}
