package nn

import (
	"runtime"
	"sync"
)

// workers is the number of goroutines a layer with the given Threads setting
// uses: the setting when positive, else runtime.GOMAXPROCS (so GOMAXPROCS and
// the layer field both cap the engine's parallelism).
func workers(threads int) int {
	if threads > 0 {
		return threads
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor runs fn(w, lo, hi) over [0, n) split into contiguous chunks,
// one per worker w (w < the worker count), and waits. With one worker or
// n <= 1 it runs inline, so small layers pay no goroutine cost.
func parallelFor(threads, n int, fn func(w, lo, hi int)) {
	nw := workers(threads)
	if nw > n {
		nw = n
	}
	if nw <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(nw - 1)
	for w := 1; w < nw; w++ {
		lo, hi := w*n/nw, (w+1)*n/nw
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	fn(0, 0, n/nw)
	wg.Wait()
}
