// Package prefault allocates large float32 buffers backed by memory at
// once: one madvise(MADV_POPULATE_WRITE) call (Linux 5.14 and later)
// instead of one page fault per 4 KiB page as the buffer is first written.
// On the shared 2-core Zen 5 VM a freshly allocated whole head (200 MB)
// took 0.74-0.93 s of page faults as it was written, 0.35-0.45 s populated
// first (the VM's host still backs each page on first touch, which no hint
// avoids), and a network's activations and scratch are the same story:
// their first pass cost several times a later one.
package prefault

// MinFloats is the size from which Make populates: 1 MiB, 256 pages, where
// one system call already costs less than the faults it saves (a
// localiser's activations are a few MiB each).
const MinFloats = 1 << 18

// Make returns a zeroed slice of n float32, populated when n >= MinFloats.
func Make(n int) []float32 {
	b := make([]float32, n)
	if n >= MinFloats {
		_ = populate(b) // a hint: without it the pages fault in one by one
	}
	return b
}
