package pacs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Processor segments one retrieved series (a folder of its DICOM files)
// and returns the DICOM Segmentation's bytes, or ErrNothingToStore when
// the series holds nothing to segment (no inner ear).
type Processor func(ctx context.Context, s Series, dir string) ([]byte, error)

// ErrNothingToStore tells the watcher that a series was processed but
// gives no Segmentation to store.
var ErrNothingToStore = errors.New("nothing to store")

// ErrPending tells the watcher that a series was handed on (to the batch
// queue) and its result is not there yet: Check is asked again at the
// next poll.
var ErrPending = errors.New("pending")

// Checker returns the Segmentation of a series handed on earlier, or
// ErrPending while it is not ready, or ErrNothingToStore.
type Checker func(ctx context.Context, s Series) ([]byte, error)

// Entry is what the state file remembers of one series.
type Entry struct {
	Study    string    `json:"study"`
	Status   string    `json:"status"` // done, no-result, failed (given up), retry, queued
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// State is the watcher's memory: series UID -> entry. It is written
// atomically after every series, so a watcher killed at any moment
// restarts knowing everything it finished.
type State struct {
	Series map[string]*Entry `json:"series"`
}

// LoadState reads the state file, or returns an empty state when there is
// none yet.
func LoadState(path string) (*State, error) {
	s := &State{Series: map[string]*Entry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: not a pacs state file: %w", path, err)
	}
	if s.Series == nil {
		s.Series = map[string]*Entry{}
	}
	return s, nil
}

func (s *State) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// Watcher polls a PACS and processes each new series once.
type Watcher struct {
	Client *Client
	// Filters are the QIDO-RS matching keys (Modality=CT, ...).
	Filters url.Values
	// StatePath is the state file (JSON).
	StatePath string
	Process   Processor
	// Check collects results Process handed on (ErrPending); nil when
	// Process never does.
	Check Checker
	// MaxAttempts is how often a failing series is tried (default 3).
	MaxAttempts int
	// WorkDir holds retrieved series while they are processed (default:
	// the system's temporary folder); each is removed afterwards.
	WorkDir string
	Log     io.Writer
}

// PollReport counts what one poll did.
type PollReport struct {
	Found, Processed, Stored, Skipped, Failed, Queued int
}

// Poll searches once and processes every series not done before.
func (w *Watcher) Poll(ctx context.Context) (PollReport, error) {
	var rep PollReport
	st, err := LoadState(w.StatePath)
	if err != nil {
		return rep, err
	}
	found, err := w.Client.SearchSeries(ctx, w.Filters)
	if err != nil {
		return rep, err
	}
	sort.Slice(found, func(a, b int) bool { return found[a].Series < found[b].Series })
	rep.Found = len(found)
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	for _, s := range found {
		if e := st.Series[s.Series]; e != nil && e.Status == "queued" && w.Check != nil {
			if err := w.collect(ctx, s, e, &rep); err != nil {
				return rep, err
			}
			if err := st.save(w.StatePath); err != nil {
				return rep, err
			}
			continue
		}
		if e := st.Series[s.Series]; e != nil && (e.Status != "retry" || e.Attempts >= maxAttempts) {
			rep.Skipped++
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		e := st.Series[s.Series]
		if e == nil {
			e = &Entry{Study: s.Study}
			st.Series[s.Series] = e
		}
		e.Attempts++
		e.At = time.Now().UTC()
		stored, err := w.one(ctx, s)
		rep.Processed++
		switch {
		case errors.Is(err, ErrPending):
			e.Status, e.Error = "queued", ""
			rep.Queued++
		case err == nil && stored:
			e.Status, e.Error = "done", ""
			rep.Stored++
		case err == nil:
			e.Status, e.Error = "no-result", ""
		default:
			e.Error = err.Error()
			e.Status = "retry"
			if e.Attempts >= maxAttempts {
				e.Status = "failed"
			}
			rep.Failed++
			w.logf("series %s: %v\n", s.Series, err)
		}
		if err := st.save(w.StatePath); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// one retrieves, processes and stores one series.
func (w *Watcher) one(ctx context.Context, s Series) (bool, error) {
	dir, err := os.MkdirTemp(w.WorkDir, "otoseg-series-*")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	n, err := w.Client.RetrieveSeries(ctx, s.Study, s.Series, dir)
	if err != nil {
		return false, err
	}
	w.logf("series %s: retrieved %d instances\n", s.Series, n)
	seg, err := w.Process(ctx, s, dir)
	if errors.Is(err, ErrPending) {
		w.logf("series %s: queued\n", s.Series)
		return false, err
	}
	if errors.Is(err, ErrNothingToStore) {
		w.logf("series %s: nothing to store (%v)\n", s.Series, err)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := w.Client.Store(ctx, seg); err != nil {
		return false, err
	}
	w.logf("series %s: stored its DICOM Segmentation\n", s.Series)
	return true, nil
}

// collect stores the result of a series handed on earlier, once ready.
// Only a failure to save state is returned; the series' own errors go in
// its entry.
func (w *Watcher) collect(ctx context.Context, s Series, e *Entry, rep *PollReport) error {
	seg, err := w.Check(ctx, s)
	switch {
	case errors.Is(err, ErrPending):
		rep.Queued++
		return nil
	case errors.Is(err, ErrNothingToStore):
		e.Status, e.Error = "no-result", ""
	case err == nil:
		if err = w.Client.Store(ctx, seg); err == nil {
			e.Status, e.Error = "done", ""
			rep.Stored++
			w.logf("series %s: stored its DICOM Segmentation\n", s.Series)
			break
		}
		fallthrough
	default:
		// Stay queued: the result is kept, the store is tried again.
		e.Error = err.Error()
		if !errors.Is(err, errJobFailed) {
			rep.Failed++
			w.logf("series %s: %v\n", s.Series, err)
			break
		}
		e.Status = "failed"
		rep.Failed++
		w.logf("series %s: %v\n", s.Series, err)
	}
	e.At = time.Now().UTC()
	return nil
}

// Run polls every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) error {
	for {
		rep, err := w.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			w.logf("poll: %v\n", err)
		} else if err == nil {
			w.logf("poll: %d series found, %d processed, %d stored, %d failed\n", rep.Found, rep.Processed, rep.Stored, rep.Failed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Log != nil {
		fmt.Fprintf(w.Log, format, args...)
	}
}

// ParseFilters turns "Modality=CT,BodyPartExamined=HEAD" into QIDO-RS
// matching keys; since (YYYYMMDD or YYYY-MM-DD, may be empty) adds a
// StudyDate range from that day on.
func ParseFilters(filter, since string) (url.Values, error) {
	q := url.Values{}
	for _, kv := range strings.Split(filter, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE pairs separated by commas (Modality=CT)", kv)
		}
		if strings.EqualFold(k, "modality") {
			k = "Modality"
		}
		q.Add(k, v)
	}
	if since != "" {
		d, err := time.Parse("20060102", strings.ReplaceAll(since, "-", ""))
		if err != nil {
			return nil, fmt.Errorf("--since %q: want a date, YYYY-MM-DD or YYYYMMDD", since)
		}
		q.Set("StudyDate", d.Format("20060102")+"-")
	}
	return q, nil
}

// Password reads a password from the environment variable env or, when
// file is set, the first line of that file; never from a command-line
// flag, which other users can read in the process list.
func Password(env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	return os.Getenv(env), nil
}
