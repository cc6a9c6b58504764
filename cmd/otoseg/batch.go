package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/batch"
	"github.com/otoseg/otoseg/batch/segjob"
	"github.com/otoseg/otoseg/internal/safeout"
)

func newBatchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "segment an archive with a job queue shared by worker processes and machines",
		Long: `batch spreads segmentation over worker processes and machines with the River
job queue. The queue (--queue) is a SQLite file for one machine (default
otoseg-queue.db) or a postgres:// URL for many; inputs and outputs must then be
on storage every machine sees at the same paths.

  otoseg batch submit --queue Q --out DIR INPUT...   one job per scan
  otoseg batch worker --queue Q [--jobs N]           run jobs until stopped
  otoseg batch status --queue Q [--json]             counts, throughput, failures

A job is unique by its scan's content (SHA-256), the model's checksum and the
options that change the result: submitting an archive twice adds nothing.
Outputs have the names and sidecars of otoseg segment, under --out, mirroring
the folders below each submitted folder.`,
	}
	cmd.AddCommand(newBatchSubmitCmd(), newBatchWorkerCmd(), newBatchStatusCmd())
	return cmd
}

type batchSubmitOptions struct {
	queue, out, model string
	tta, dicomSeg     bool
	maxAttempts       int
}

func newBatchSubmitCmd() *cobra.Command {
	o := batchSubmitOptions{}
	cmd := &cobra.Command{
		Use:   "submit --out DIR [--queue Q] [--model DIR] [--tta] [--dicom-seg] INPUT...",
		Short: "queue one segmentation job per scan",
		Long: `submit queues one job per scan: INPUT is an image file, a DICOM series folder,
or a folder searched recursively for both (a folder holding DICOM files and no
image files is one series). Scans whose job is already queued, running or done
(same content, model and options) are skipped.`,
		Example: `  otoseg batch submit --out results/ archive/
  otoseg batch submit --queue postgres://otoseg@db/otoseg --out /shared/results --dicom-seg /shared/archive`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBatchSubmit(cmd.Context(), cmd.OutOrStdout(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.queue, "queue", batch.DefaultQueue, "queue: a SQLite file or a postgres:// URL")
	f.StringVarP(&o.out, "out", "o", "", "output folder (shared storage when workers run on several machines)")
	f.StringVar(&o.model, "model", "", "model folder (default: the built-in baseline)")
	f.BoolVar(&o.tta, "tta", false, "mirroring test-time augmentation")
	f.BoolVar(&o.dicomSeg, "dicom-seg", false, "also write a DICOM Segmentation (<case>_seg.dcm) for DICOM inputs")
	f.IntVar(&o.maxAttempts, "max-attempts", 5, "attempts before a job gives up")
	return cmd
}

func runBatchSubmit(ctx context.Context, w io.Writer, inputs []string, o batchSubmitOptions) error {
	if o.out == "" {
		return usagef("--out DIR is required")
	}
	model := o.model
	if model != "" {
		abs, err := filepath.Abs(model)
		if err != nil {
			return err
		}
		model = abs
	}
	sum, err := segjob.ModelChecksum(model)
	if err != nil {
		return err
	}
	scans, err := batch.Discover(inputs)
	if err != nil {
		return err
	}
	if err := safeout.Dir(o.out, inputs...); err != nil {
		return usageError{err}
	}
	q, err := batch.Open(ctx, o.queue)
	if err != nil {
		return err
	}
	defer q.Close()
	rep, err := batch.Submit(ctx, q, scans, batch.SubmitOptions{
		Out: o.out, Model: model, ModelSum: sum, TTA: o.tta, DICOMSeg: o.dicomSeg, MaxAttempts: o.maxAttempts,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d scans: %d jobs added, %d already queued or done (queue %s)\n", rep.Scans, rep.Added, rep.Duplicates, q.Location)
	return nil
}

type batchWorkerOptions struct {
	queue      string
	jobs       int
	timeout    time.Duration
	retryBase  time.Duration
	poll       time.Duration
	untilEmpty bool
}

func newBatchWorkerCmd() *cobra.Command {
	o := batchWorkerOptions{}
	cmd := &cobra.Command{
		Use:   "worker [--queue Q] [--jobs N] [--until-empty]",
		Short: "run segmentation jobs from the queue until stopped",
		Long: `worker runs jobs until stopped. SIGTERM or Ctrl-C drains: jobs in hand finish,
no new ones start; a second signal cancels them and returns them to the queue.
A failed job is retried after --retry-base, doubling each time, up to its
attempt limit; the error of every attempt is kept (see batch status). A job
whose worker died (kill -9, a lost machine) goes to another worker once it
has been running for --job-timeout plus one minute.`,
		Example: `  otoseg batch worker                                   # the default queue, otoseg-queue.db
  otoseg batch worker --queue postgres://otoseg@db/otoseg
  otoseg batch worker --until-empty                     # exit when the queue is done`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchWorker(cmd.Context(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.queue, "queue", batch.DefaultQueue, "queue: a SQLite file or a postgres:// URL")
	f.IntVar(&o.jobs, "jobs", 1, "jobs run at once by this process (each uses all cores; 1 is fastest per machine)")
	f.DurationVar(&o.timeout, "job-timeout", 30*time.Minute, "cancel (and retry) a job running longer")
	f.DurationVar(&o.retryBase, "retry-base", 30*time.Second, "delay before a failed job's first retry")
	f.DurationVar(&o.poll, "poll", time.Second, "how often an idle worker looks for jobs")
	f.BoolVar(&o.untilEmpty, "until-empty", false, "exit once no job is pending or running")
	return cmd
}

func runBatchWorker(ctx context.Context, log io.Writer, o batchWorkerOptions) error {
	q, err := batch.Open(ctx, o.queue)
	if err != nil {
		return err
	}
	defer q.Close()
	drain, abort := drainSignals(ctx)
	fmt.Fprintf(log, "otoseg batch worker: queue %s, %d job(s) at a time\n", q.Location, o.jobs)
	err = batch.Work(drain, abort, q, segjob.Handler(segjob.Options{Version: moduleVersion()}), batch.WorkerOptions{
		Jobs: o.jobs, JobTimeout: o.timeout, RetryBase: o.retryBase, PollInterval: o.poll, UntilEmpty: o.untilEmpty, Log: log,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(log, "otoseg batch worker: stopped")
	return nil
}

// drainSignals returns a context that ends on the first SIGTERM or
// interrupt (drain) and one that ends on the second (abort).
func drainSignals(ctx context.Context) (drain, abort context.Context) {
	drain, stopDrain := context.WithCancel(ctx)
	abort, stopAbort := context.WithCancel(context.WithoutCancel(ctx))
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		stopDrain()
		<-sig
		stopAbort()
	}()
	return drain, abort
}

func newBatchStatusCmd() *cobra.Command {
	var queue string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--queue Q] [--json]",
		Short: "count the queue's jobs by state, with throughput and failures",
		Example: `  otoseg batch status
  otoseg batch status --queue postgres://otoseg@db/otoseg --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchStatus(cmd.Context(), cmd.OutOrStdout(), queue, asJSON)
		},
	}
	cmd.Flags().StringVar(&queue, "queue", batch.DefaultQueue, "queue: a SQLite file or a postgres:// URL")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: total, pending, running, completed, failed, scans_per_hour, failed_inputs")
	return cmd
}

func runBatchStatus(ctx context.Context, w io.Writer, queue string, asJSON bool) error {
	if !batch.IsPostgres(queue) {
		if _, err := os.Stat(queue); err != nil {
			return fmt.Errorf("queue %s: %w", queue, err)
		}
	}
	q, err := batch.Open(ctx, queue)
	if err != nil {
		return err
	}
	defer q.Close()
	st, err := batch.GetStatus(ctx, q)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(w, "queue      %s\ntotal      %d\npending    %d\nrunning    %d\ncompleted  %d\nfailed     %d\nthroughput %.0f scans/hour\n",
		q.Location, st.Total, st.Pending, st.Running, st.Completed, st.Failed, st.ScansPerHour)
	for _, f := range st.FailedInputs {
		fmt.Fprintf(w, "failed     %s after %d attempt(s): %s\n", f.Input, f.Attempts, f.Error)
	}
	return nil
}
