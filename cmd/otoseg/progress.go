package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// stageSpinner shows, on a terminal, which stage a long single-scan job is
// in (reading a large DICOM series, segmenting, writing) with the time
// spent; it writes nothing when w is not a terminal, so logs and pipes stay
// clean.
type stageSpinner struct {
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	name string
	stop chan struct{}
	done sync.WaitGroup
}

// newStageSpinner returns a spinner for the job name on w, or nil (whose
// methods do nothing) when w is not a terminal.
func newStageSpinner(w io.Writer, name string) *stageSpinner {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	s := &stageSpinner{name: name, stop: make(chan struct{})}
	s.bar = progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.mu.Lock()
				_ = s.bar.Add(1)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Stage names the stage now running.
func (s *stageSpinner) Stage(stage string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.bar.Describe(fmt.Sprintf("%s: %s", s.name, stage))
	s.mu.Unlock()
}

// Finish clears the spinner.
func (s *stageSpinner) Finish() {
	if s == nil {
		return
	}
	close(s.stop)
	s.done.Wait()
	_ = s.bar.Finish()
}
