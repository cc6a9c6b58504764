package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/batch"
	"github.com/otoseg/otoseg/pacs"
)

type pacsWatchOptions struct {
	url, user, passwordEnv, passwordFile string
	since, filter, state, model, keep    string
	queue, spool                         string
	interval                             time.Duration
	once, tta                            bool
}

func newPacsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pacs",
		Short: "segment new CT series in a PACS and store the results back (DICOMweb)",
	}
	cmd.AddCommand(newPacsWatchCmd())
	return cmd
}

func newPacsWatchCmd() *cobra.Command {
	o := pacsWatchOptions{}
	cmd := &cobra.Command{
		Use:   "watch --dicomweb URL [--filter Modality=CT,...] [--since DATE] [--user U]",
		Short: "poll a PACS for new CT series, segment each, store its DICOM Segmentation",
		Long: `watch polls a DICOMweb server (QIDO-RS) for series matching --filter
(default Modality=CT), retrieves each new one (WADO-RS), segments it, and
stores the DICOM Segmentation back in the same study (STOW-RS). The state file
remembers every series handled (done, no inner ear, or failed after 3
attempts), so a restarted watcher processes no series twice.

Basic authentication: --user, with the password read from the environment
variable --password-env (default OTOSEG_PACS_PASSWORD) or the first line of
--password-file; never from a flag.

--queue Q hands each series to a batch queue instead of segmenting it here:
the series waits in --spool (which the workers must see at the same path),
'otoseg batch worker --queue Q' segments it, and a later poll stores the
result.`,
		Example: `  OTOSEG_PACS_PASSWORD=... otoseg pacs watch --dicomweb http://pacs:8042/dicom-web --user otoseg
  otoseg pacs watch --dicomweb http://localhost:8042/dicom-web --once --since 2026-12-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPacsWatch(cmd.Context(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "dicomweb", "", "DICOMweb root URL (Orthanc: http://HOST:8042/dicom-web)")
	f.StringVar(&o.user, "user", "", "user for HTTP basic authentication")
	f.StringVar(&o.passwordEnv, "password-env", "OTOSEG_PACS_PASSWORD", "environment variable holding the password")
	f.StringVar(&o.passwordFile, "password-file", "", "file whose first line is the password")
	f.StringVar(&o.filter, "filter", "Modality=CT", "QIDO-RS matching keys, KEY=VALUE,...")
	f.StringVar(&o.since, "since", "", "only studies from this date on (YYYY-MM-DD)")
	f.StringVar(&o.state, "state", "otoseg-pacs-state.json", "state file: the series already handled")
	f.StringVar(&o.model, "model", "", "model folder (default: the built-in baseline)")
	f.StringVar(&o.keep, "keep", "", "also keep label maps, sidecars and Segmentations in this folder")
	f.StringVar(&o.queue, "queue", "", "segment through this batch queue (SQLite file or postgres:// URL) instead of in this process")
	f.StringVar(&o.spool, "spool", "otoseg-pacs-spool", "with --queue: where retrieved series and the jobs' results wait (storage the workers share)")
	f.DurationVar(&o.interval, "interval", time.Minute, "time between polls")
	f.BoolVar(&o.once, "once", false, "poll once and exit")
	f.BoolVar(&o.tta, "tta", false, "mirroring test-time augmentation")
	return cmd
}

func runPacsWatch(ctx context.Context, log io.Writer, o pacsWatchOptions) error {
	if o.url == "" {
		return usagef("--dicomweb URL is required")
	}
	filters, err := pacs.ParseFilters(o.filter, o.since)
	if err != nil {
		return usageError{err}
	}
	pw, err := pacs.Password(o.passwordEnv, o.passwordFile)
	if err != nil {
		return err
	}
	if o.user != "" && pw == "" {
		return usagef("--user %s given but no password: set $%s or --password-file", o.user, o.passwordEnv)
	}
	w := &pacs.Watcher{
		Client:    &pacs.Client{Base: o.url, User: o.user, Password: pw, HTTP: &http.Client{Timeout: 10 * time.Minute}},
		Filters:   filters,
		StatePath: o.state,
		Log:       log,
	}
	if o.queue != "" {
		q, err := batch.Open(ctx, o.queue)
		if err != nil {
			return err
		}
		defer q.Close()
		spool, err := filepath.Abs(o.spool)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(spool, 0o755); err != nil {
			return err
		}
		if w.Process, w.Check, err = pacs.QueueProcessor(pacs.QueueOptions{Queue: q, Spool: spool, Model: o.model, TTA: o.tta}); err != nil {
			return err
		}
		w.WorkDir = spool
	} else if w.Process, err = pacs.SegmentProcessor(pacs.SegmentOptions{Model: o.model, Version: moduleVersion(), Keep: o.keep, TTA: o.tta}); err != nil {
		return err
	}
	if o.once {
		rep, err := w.Poll(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "pacs watch: %d series found, %d processed, %d stored, %d queued, %d already handled, %d failed\n", rep.Found, rep.Processed, rep.Stored, rep.Queued, rep.Skipped, rep.Failed)
		return nil
	}
	return w.Run(ctx, o.interval)
}
