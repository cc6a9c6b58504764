package prefault

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

// TestMakePopulatesLargeBuffers: writing every element of a large new
// buffer takes almost no page faults, since Make had its memory backed at
// once, and the buffer is still all zero; odd sizes do not upset populate.
func TestMakePopulatesLargeBuffers(t *testing.T) {
	if err := populate(make([]float32, 1<<20)); err != nil {
		t.Skipf("kernel without MADV_POPULATE_WRITE: %v", err)
	}
	b := Make(8 << 20) // 32 MiB
	before := minorFaults(t)
	for i := range b {
		if b[i] != 0 {
			t.Fatalf("element %d is %v in a new buffer", i, b[i])
		}
		b[i] = 1
	}
	pages := int64(len(b) * 4 / 4096)
	if f := minorFaults(t) - before; f > pages/20 {
		t.Errorf("%d page faults writing a new %d-page buffer, want at most %d", f, pages, pages/20)
	}
	for _, n := range []int{0, 1, 1023, 1025, 1<<20 + 3} {
		if err := populate(make([]float32, n)[min(n, 1):]); err != nil {
			t.Errorf("populate of %d floats: %v", n, err)
		}
	}
}
