package prefault

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// populate asks the kernel to back data with memory now. The contents are
// unchanged (zero, or what the heap already held). It is a hint: a kernel
// without MADV_POPULATE_WRITE returns an error and the pages fault in as
// before.
func populate(data []float32) error {
	if len(data) == 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data))
	// Only the pages wholly inside data: madvise needs an aligned start,
	// and rounds the length up to a page.
	start := (page - uintptr(unsafe.Pointer(&b[0]))%page) % page
	end := start + (uintptr(len(b))-min(start, uintptr(len(b))))/page*page
	if end <= start {
		return nil
	}
	return unix.Madvise(b[start:end], unix.MADV_POPULATE_WRITE)
}
