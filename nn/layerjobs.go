package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// minParallelWork is the number of element operations below which the
// layers in this file's family run serially: starting goroutines costs a few
// microseconds, more than normalising a small deep-level tensor.
const minParallelWork = 1 << 15

// splitJobs calls fn(i) for every i in [0, n), spread over up to threads
// goroutines (GOMAXPROCS when threads <= 0) that take jobs one at a time
// (channels of one sample are the usual job, and they differ little in
// cost). work is the approximate number of element operations per job;
// small totals run on the calling goroutine.
func splitJobs(threads, n, work int, fn func(i int)) {
	workers := threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 || n*work < minParallelWork {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	body := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(i)
		}
	}
	wg.Add(workers - 1)
	for range workers - 1 {
		go func() {
			defer wg.Done()
			body()
		}()
	}
	body()
	wg.Wait()
}
