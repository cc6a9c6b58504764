//go:build !amd64

package bench

// fmaLoop has no assembly loop on this architecture: the peak is not
// measured there.
func fmaLoop(string) (loop func(n int), simd string, flopsPerIter float64) { return nil, "none", 0 }
