package volume

import (
	"syscall"
	"testing"
)

func minorFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestNewPrefaultsLargeVolumes: writing every voxel of a large new volume
// takes almost no page faults, since New had its memory backed at once,
// and the volume is still all zero; odd sizes do not upset prefault.
func TestNewPrefaultsLargeVolumes(t *testing.T) {
	probe := make([]float32, 1<<20)
	if err := prefault(probe); err != nil {
		t.Skipf("kernel without MADV_POPULATE_WRITE: %v", err)
	}
	g := NewGeometry([3]int{256, 256, 128}, [3]float64{1, 1, 1}) // 32 MiB
	v := New(g, Float32)
	before := minorFaults(t)
	for i := range v.Data {
		if v.Data[i] != 0 {
			t.Fatalf("voxel %d is %v in a new volume", i, v.Data[i])
		}
		v.Data[i] = 1
	}
	pages := int64(len(v.Data) * 4 / 4096)
	if f := minorFaults(t) - before; f > pages/20 {
		t.Errorf("%d page faults writing a new %d-page volume, want at most %d", f, pages, pages/20)
	}
	for _, n := range []int{0, 1, 1023, 1025, 1<<20 + 3} {
		if err := prefault(make([]float32, n)[min(n, 1):]); err != nil {
			t.Errorf("prefault of %d voxels: %v", n, err)
		}
	}
}
