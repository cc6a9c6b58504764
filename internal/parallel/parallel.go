// Package parallel runs independent pieces of work on all cores. Resampling,
// the distance transforms and the phantom generator share it, so all of
// them balance load the same way.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For runs f(i, scratch) for every i in 0..n-1 on up to GOMAXPROCS
// goroutines. Each worker takes the next index from a shared counter, so
// pieces of uneven cost balance out, and owns one scratch from newScratch,
// so f needs no locking for its buffers. It returns when every f returned.
func For[T any](n int, newScratch func() T, f func(i int, scratch T)) {
	ForN(0, n, newScratch, f)
}

// ForN is For on at most workers goroutines; workers < 1 means GOMAXPROCS.
// It serves code whose parallelism is a setting (the phantom generator's
// Workers) rather than always the whole machine.
func ForN[T any](workers, n int, newScratch func() T, f func(i int, scratch T)) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newScratch()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i, sc)
			}
		}()
	}
	wg.Wait()
}
