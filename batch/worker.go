package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job is what a Handler gets: the job's arguments and identity.
type Job struct {
	ID      int64
	Attempt int
	Created time.Time
	Args    Args
}

// Handler does one job: segments Args.Input and writes its outputs
// atomically. An error makes River retry the job (or give up after its
// last attempt, keeping the error); ctx ends when the job times out or the
// worker is stopped hard.
type Handler func(ctx context.Context, job Job) error

// WorkerOptions configure a worker process.
type WorkerOptions struct {
	// Jobs is how many jobs the process runs at once (default 1).
	Jobs int
	// ID names the worker in each job's attempts (default host-pid).
	ID string
	// JobTimeout cancels a job running longer (default 30 min).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before the queue's
	// leader hands it to another worker: its worker must have died.
	// Default and minimum: JobTimeout plus one minute, so a live worker
	// has always given a job up before it is rescued.
	RescueAfter time.Duration
	// RetryBase is the first retry's delay; each further retry doubles it,
	// up to RetryMax (defaults 30 s and 1 h).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often idle workers look for jobs (default 1 s;
	// SQLite has no notifications, so this is how soon a job starts).
	PollInterval time.Duration
	// UntilEmpty stops the worker once no job is pending or running.
	UntilEmpty bool
	// Log receives River's warnings and errors (default stderr).
	Log io.Writer
}

func (o *WorkerOptions) defaults() {
	if o.Jobs <= 0 {
		o.Jobs = 1
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 30 * time.Minute
	}
	if o.RescueAfter < o.JobTimeout+time.Second {
		o.RescueAfter = o.JobTimeout + time.Minute
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
}

// backoff is the retry policy: RetryBase * 2^(attempt-1), capped.
type backoff struct{ base, max time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := time.Duration(float64(b.base) * math.Pow(2, float64(max(job.Attempt-1, 0))))
	if d > b.max || d <= 0 {
		d = b.max
	}
	return time.Now().Add(d)
}

// segmentWorker adapts a Handler to River.
type segmentWorker struct {
	river.WorkerDefaults[Args]
	handle Handler
}

func (w *segmentWorker) Work(ctx context.Context, job *river.Job[Args]) error {
	return w.handle(ctx, Job{ID: job.ID, Attempt: job.Attempt, Created: job.CreatedAt, Args: job.Args})
}

// Work runs jobs from q with handle until ctx ends (a drain: jobs in hand
// finish, no new ones start) or, with UntilEmpty, the queue has nothing
// left. If abort ends while draining, jobs in hand are cancelled and go
// back to the queue for another worker.
func Work(ctx, abort context.Context, q *Queue, handle Handler, o WorkerOptions) error {
	o.defaults()
	workers := river.NewWorkers()
	river.AddWorker(workers, &segmentWorker{handle: handle})
	client, err := q.newClient(&river.Config{
		ID:                   o.ID,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Jobs}},
		Workers:              workers,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		RetryPolicy:          backoff{o.RetryBase, o.RetryMax},
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        min(100*time.Millisecond, o.PollInterval),
		Logger:               slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("queue %s: %w", q.Location, err)
	}
	// River's own context stays alive through a drain: cancelling it
	// would cancel the jobs in hand.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	if err := client.Start(runCtx); err != nil {
		return fmt.Errorf("queue %s: %w", q.Location, err)
	}
	empty := make(chan struct{})
	if o.UntilEmpty {
		go watchEmpty(runCtx, q, o.PollInterval, empty)
	}
	select {
	case <-ctx.Done():
	case <-empty:
	case <-client.Stopped():
		return fmt.Errorf("queue %s: worker stopped unexpectedly", q.Location)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- client.Stop(runCtx) }()
	select {
	case err := <-stopped:
		return err
	case <-abort.Done():
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := client.StopAndCancel(hard); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
}

// watchEmpty closes empty once the queue holds no pending or running job
// twice in a row (a job between two states is never missed).
func watchEmpty(ctx context.Context, q *Queue, every time.Duration, empty chan<- struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, err := q.counts(ctx)
		if err != nil {
			idle = 0
			continue
		}
		if c.Pending+c.Running == 0 {
			idle++
		} else {
			idle = 0
		}
		if idle >= 2 {
			close(empty)
			return
		}
	}
}

// quietLogger drops River's logging (submit and status are short-lived).
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Permanent marks a job error that retrying cannot fix (a model that is
// not the one submitted): River cancels the job at once, keeping the error.
func Permanent(err error) error { return river.JobCancel(err) }
