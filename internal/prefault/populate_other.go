//go:build !linux

package prefault

// populate is a no-op where the kernel has no MADV_POPULATE_WRITE.
func populate([]float32) error { return nil }
