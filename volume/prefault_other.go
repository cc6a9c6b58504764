//go:build !linux

package volume

// prefault is a no-op where the kernel has no MADV_POPULATE_WRITE.
func prefault([]float32) error { return nil }
