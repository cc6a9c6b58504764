package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/pacs"
)

type pacsWatchOptions struct {
	url, user, passwordEnv, passwordFile string
	since, filter, state, model, keep    string
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
--password-file; never from a flag.`,
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
	proc, err := pacs.SegmentProcessor(pacs.SegmentOptions{Model: o.model, Version: moduleVersion(), Keep: o.keep, TTA: o.tta})
	if err != nil {
		return err
	}
	w := &pacs.Watcher{
		Client:    &pacs.Client{Base: o.url, User: o.user, Password: pw, HTTP: &http.Client{Timeout: 10 * time.Minute}},
		Filters:   filters,
		StatePath: o.state,
		Process:   proc,
		Log:       log,
	}
	if o.once {
		rep, err := w.Poll(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "pacs watch: %d series found, %d processed, %d stored, %d already handled, %d failed\n", rep.Found, rep.Processed, rep.Stored, rep.Skipped, rep.Failed)
		return nil
	}
	return w.Run(ctx, o.interval)
}
