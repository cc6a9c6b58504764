package segment

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/phantom"
)

// BenchmarkSegmentHeadCT512 segments a whole-head CT field of view of
// 512 x 512 x 200 voxels (0.45 x 0.45 x 0.6 mm) with the built-in model,
// from reading the .nii.gz to writing the label map, and reports the share
// of each stage and the process's peak resident memory during the run.
//
//	go test -run XXX -bench SegmentHeadCT512 -benchtime 3x ./segment
func BenchmarkSegmentHeadCT512(b *testing.B) {
	m, err := LoadModelFS(models.Baseline())
	if err != nil {
		b.Fatal(err)
	}
	c, err := phantom.CentreByName("B")
	if err != nil {
		b.Fatal(err)
	}
	img, _, _, err := phantom.Generate(phantom.Config{Centre: c, Seed: 11, FOV: phantom.FOVHead,
		Extent: [3]float64{230.4, 230.4, 120}, Spacing: [3]float64{0.45, 0.45, 0.6}})
	if err != nil {
		b.Fatal(err)
	}
	if img.Dims != [3]int{512, 512, 200} {
		b.Fatalf("phantom dims %v, want 512x512x200", img.Dims)
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "head.nii.gz")
	if err := imageio.Write(in, img); err != nil {
		b.Fatal(err)
	}
	img = nil
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	stages := map[string]float64{}
	var total float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := m.SegmentFile(context.Background(), in, filepath.Join(dir, "labels.nii.gz"), FileOptions{Options: DefaultOptions()})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Ears) != 2 {
			b.Errorf("found %d ears in a head CT, want 2", len(rep.Ears))
		}
		for k, v := range rep.Stages {
			stages[k] += v
		}
		total += rep.Seconds
	}
	b.StopTimer()
	for k, v := range stages {
		b.ReportMetric(100*v/total, k+"-%")
	}
	b.ReportMetric(total/float64(b.N), "s/scan")
	if mb := peakRSSMB(); mb > 0 {
		b.ReportMetric(mb, "peak-RSS-MB")
	}
}

// resetPeakRSS clears the kernel's high-water mark of resident memory
// (Linux: writing 5 to clear_refs), so VmHWM measures only what follows.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads VmHWM from /proc/self/status, or 0 where there is none.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
