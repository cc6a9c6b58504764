package unet

import (
	"context"
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// BenchmarkBenchWork reports the bench's two figures once (go test -bench
// BenchWork -benchtime 1x ./unet/); the timing itself lives in Bench.
func BenchmarkBenchWork(b *testing.B) {
	for range b.N {
		train, infer, err := Bench(context.Background(), 0, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(train, "train_step_s")
		b.ReportMetric(infer, "infer96_s")
	}
}

func TestBenchRunsSmall(t *testing.T) {
	c := Config{InChannels: 1, NumClasses: 2, Features: []int{2, 4}, ConvsPerStage: 1, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	for _, ds := range []bool{false, true} {
		c.DeepSupervision = ds
		u, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		u.Init(1)
		u.SetThreads(1)
		if _, err := timeTrainStep(context.Background(), u, &nn.CrossEntropyLoss{}, 1, 8, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := timeInference(context.Background(), u, 8, 1); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Bench(ctx, 1, 1); err == nil {
		t.Error("cancelled context not reported")
	}
}

// BenchmarkNNUNetStep times nnU-Net's full training step on the benchmark
// network: deep supervision over four outputs, Dice+CE (batch Dice), SGD,
// batch 2x1x64^3, and inference at 96^3 on the highest-resolution head
// only. unet/torch_unet.py does the same work in PyTorch:
//
//	go test ./unet -run XXX -bench NNUNetStep -benchtime 3x
//	/usr/bin/python3 unet/torch_unet.py --threads 2 --reps 3
func BenchmarkNNUNetStep(b *testing.B) {
	c := BenchConfig()
	c.DeepSupervision = true
	u, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	u.Init(1)
	u.SetThreads(2)
	train, err := timeTrainStep(context.Background(), u, nil, 2, 64, b.N)
	if err != nil {
		b.Fatal(err)
	}
	c.DeepSupervision = false
	inf, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	inf.Init(1)
	inf.SetThreads(2)
	infer, err := timeInference(context.Background(), inf, 96, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(train, "train_step_s")
	b.ReportMetric(infer, "infer96_s")
}
