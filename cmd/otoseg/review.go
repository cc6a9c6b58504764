package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/review"
)

func newReviewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "blinded expert rating of segmentations in the browser",
		Long: `review serves a web app in which readers rate every automated segmentation
of a study on a 4-level Likert scale (1 usable as is, 2 minor corrections,
3 major corrections, 4 indeterminate/unusable), blinded to the case's
metadata and centre. Ratings are kept in <study>/review.db (SQLite, WAL).

A study folder holds manifest.csv and predictions/<case_id>.nii.gz, with
otoseg segment's sidecars predictions/<case_id>.json: their QC verdicts are
shown to admins only, never to readers.
See docs/review.md for the HTTP API.`,
	}
	cmd.AddCommand(newReviewServeCmd(), newReviewReadersCmd(), newReviewExportCmd())
	return cmd
}

// reviewServeOptions are the flags of review serve.
type reviewServeOptions struct {
	TLSCert      string
	TLSKey       string
	Study        string
	DB           string
	Addr         string
	CacheMB      int
	Compare      bool
	SecureCookie bool
	SessionHours float64
	// Hosts are the names the server answers to besides the loopback names
	// and the listen address (--host).
	Hosts             []string
	TrustForwardedFor bool
}

func newReviewServeCmd() *cobra.Command {
	var o reviewServeOptions
	cmd := &cobra.Command{
		Use:   "serve --study DIR [--addr 127.0.0.1:8080]",
		Short: "serve the review app over a study folder",
		Example: `  otoseg review readers add alice --study study/
  otoseg review serve --study study/ --addr 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runReviewServe(ctx, o, cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Study, "study", "", "study folder with manifest.csv and predictions/ (required)")
	f.StringVar(&o.DB, "db", "", "review database (default <study>/review.db)")
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.IntVar(&o.CacheMB, "cache-mb", 2048, "memory for cached volumes, MiB")
	f.BoolVar(&o.Compare, "compare", false, "show the manual and the automated segmentation, blinded as A and B, and rate both")
	f.BoolVar(&o.SecureCookie, "secure-cookie", false, "mark the session cookie Secure (when served behind an HTTPS proxy)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	f.StringVar(&o.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	f.Float64Var(&o.SessionHours, "session-hours", 24, "how long a sign-in lasts")
	f.StringSliceVar(&o.Hosts, "host", nil, "a name readers use to reach the server (repeatable; e.g. review.example.org); requests for other names are refused. Loopback names and the --addr host are always allowed; with an unspecified --addr (0.0.0.0, :8080) also this machine's name and addresses. \"*\" allows any name")
	f.BoolVar(&o.TrustForwardedFor, "trust-forwarded-for", false, "behind a reverse proxy: count sign-in attempts per client by the last X-Forwarded-For address instead of the proxy's")
	return cmd
}

func openReviewStore(study, db string) (*review.Store, error) {
	if db == "" {
		if fi, err := os.Stat(study); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("study %s: not a folder", study)
		}
		db = review.DefaultDBPath(study)
	}
	return review.OpenStore(db)
}

// runReviewServe serves until ctx ends. If ready is not nil it receives the
// listening address once the server accepts connections.
func runReviewServe(ctx context.Context, o reviewServeOptions, logw io.Writer, ready chan<- string) error {
	if o.Study == "" {
		return usagef("--study DIR is required")
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	st, err := review.OpenStudy(o.Study, o.Compare)
	if err != nil {
		return err
	}
	for _, s := range st.Skipped {
		log.Warn("case not reviewable", "reason", s)
	}
	for _, w := range st.BlindingWarnings() {
		log.Warn("blinding", "problem", w)
	}
	for _, w := range st.QCWarnings {
		log.Warn("qc", "problem", w)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("review serve: --tls-cert and --tls-key go together")
	}
	store, err := openReviewStore(st.Dir, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if rs, err := store.Readers(ctx); err == nil && len(rs) == 0 {
		log.Warn("no accounts yet: add readers with `otoseg review readers add NAME --study " + o.Study + "`")
	}
	hosts := reviewHosts(o.Addr, o.Hosts)
	log.Info("review: answering to host names", "hosts", strings.Join(append(slices.Clone(review.LoopbackHosts), hosts...), " "))
	srv, err := review.NewServer(review.Options{
		Study: st, Store: store, Load: imageio.Read, CacheBytes: int64(o.CacheMB) << 20,
		Compare: o.Compare, SecureCookie: o.SecureCookie || o.TLSCert != "",
		SessionTTL: time.Duration(o.SessionHours * float64(time.Hour)), Log: log,
		Hosts: hosts, TrustForwardedFor: o.TrustForwardedFor,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("review serve: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	log.Info("review: serving", "url", scheme+"://"+ln.Addr().String(), "study", st.Dir, "cases", len(st.Cases), "compare", o.Compare)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- hs.ServeTLS(ln, o.TLSCert, o.TLSKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// reviewHosts is the Host allow-list of review serve besides the loopback
// names: the --host values and the host of the listen address; when that
// is unspecified (0.0.0.0, ::, empty) the server is reachable under any of
// the machine's names, so its host name and interface addresses are added.
func reviewHosts(addr string, extra []string) []string {
	hosts := slices.Clone(extra)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip, err := netip.ParseAddr(host); host != "" && (err != nil || !ip.IsUnspecified()) {
		return append(hosts, host)
	}
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				hosts = append(hosts, p.Addr().WithZone("").String())
			}
		}
	}
	return hosts
}

// reviewReaderOptions are the flags of review readers add/reset.
type reviewReaderOptions struct {
	Study         string
	DB            string
	Admin         bool
	PasswordStdin bool
	Password      string
}

func newReviewReadersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "readers", Short: "manage reader accounts"}
	var o reviewReaderOptions
	add := &cobra.Command{
		Use:   "add NAME --study DIR [--admin] [--password-stdin]",
		Short: "create a reader (or admin) account and print its sign-in token",
		Long: `add creates an account and prints its sign-in token once: only its hash is
stored, so keep it (or run readers reset to issue a new one). With
--password-stdin the account gets the password read from the first line of
standard input instead. --admin accounts see every reader's progress and rate
nothing.`,
		Example: `  otoseg review readers add alice --study study/
  otoseg review readers add lead --admin --study study/
  printf '%s\n' "$PW" | otoseg review readers add bob --password-stdin --study study/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReviewReaders(cmd.Context(), "add", args[0], o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	reset := &cobra.Command{
		Use:   "reset NAME --study DIR [--password-stdin]",
		Short: "issue a new sign-in token (or password) and sign the reader out everywhere",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReviewReaders(cmd.Context(), "reset", args[0], o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	list := &cobra.Command{
		Use:   "list --study DIR",
		Short: "list accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReviewReaders(cmd.Context(), "list", "", o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	for _, c := range []*cobra.Command{add, reset, list} {
		c.Flags().StringVar(&o.Study, "study", "", "study folder (required)")
		c.Flags().StringVar(&o.DB, "db", "", "review database (default <study>/review.db)")
	}
	add.Flags().BoolVar(&o.Admin, "admin", false, "create an admin account (progress view, no rating)")
	for _, c := range []*cobra.Command{add, reset} {
		c.Flags().BoolVar(&o.PasswordStdin, "password-stdin", false, "read a password from standard input instead of issuing a token")
		c.Flags().StringVar(&o.Password, "password", "", "set this password instead of issuing a token (visible to other users of the machine; prefer --password-stdin)")
	}
	cmd.AddCommand(add, reset, list)
	return cmd
}

func runReviewReaders(ctx context.Context, action, name string, o reviewReaderOptions, in io.Reader, out io.Writer) error {
	if o.Study == "" {
		return usagef("--study DIR is required")
	}
	store, err := openReviewStore(o.Study, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if action == "list" {
		rs, err := store.Readers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSIGN-IN\tCREATED")
		for _, r := range rs {
			role := "reader"
			if r.Admin {
				role = "admin"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, role, r.SecretKind, r.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	pw := o.Password
	if o.PasswordStdin && pw != "" {
		return errors.New("--password and --password-stdin are exclusive")
	}
	if o.PasswordStdin {
		line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading password: %w", err)
		}
		if pw = strings.TrimRight(line, "\r\n"); pw == "" {
			return errors.New("--password-stdin: standard input has no password")
		}
	}
	var tok string
	if action == "add" {
		tok, err = review.AddReader(ctx, store, name, o.Admin, pw)
	} else {
		tok, err = review.ResetReader(ctx, store, name, pw)
	}
	if err != nil {
		return err
	}
	if tok != "" {
		fmt.Fprintf(out, "reader %s: sign-in token (shown once, only its hash is stored):\n%s\n", name, tok)
	} else {
		fmt.Fprintf(out, "reader %s: password set\n", name)
	}
	return nil
}

// reviewExportOptions are the flags of review export.
type reviewExportOptions struct {
	History       bool
	Study         string
	DB            string
	Out           string
	Segmentation  string
	SubmittedOnly bool
}

func newReviewExportCmd() *cobra.Command {
	var o reviewExportOptions
	cmd := &cobra.Command{
		Use:   "export --study DIR -o ratings.csv",
		Short: "write the ratings as CSV: case_id,reader,likert,comment,seconds_spent,rated_at",
		Long: `export writes every rating of the automated segmentations (or, with
--segmentation manual, of the manual ones rated in --compare mode) as CSV with
the columns case_id,reader,likert,comment,seconds_spent,rated_at (RFC 3339
UTC), sorted by case and reader. It can run while the server runs.

--history writes the audit trail instead: every rating the server
acknowledged, also those changed later, and every submission, in commit
order, with the columns
case_id,reader,segmentation,likert,comment,seconds_spent,rated_at,submitted,action
(action is rate or submit).

Both files are readable by their owner only (0600), like the database. A
comment that a spreadsheet would run as a formula (starting with =, +, -,
@, a tab or a line break) is written with a leading single quote, and
control characters are removed.`,
		Example: `  otoseg review export --study study/ -o ratings.csv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReviewExport(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Study, "study", "", "study folder (required)")
	f.StringVar(&o.DB, "db", "", "review database (default <study>/review.db)")
	f.StringVarP(&o.Out, "out", "o", "", "output CSV file (required)")
	f.StringVar(&o.Segmentation, "segmentation", review.SourceAutomated, "which ratings: automated or manual")
	f.BoolVar(&o.SubmittedOnly, "submitted-only", false, "only cases the reader has submitted")
	f.BoolVar(&o.History, "history", false, "write the audit trail instead: every acknowledged rating request, changed ones included")
	return cmd
}

func runReviewExport(ctx context.Context, o reviewExportOptions, logw io.Writer) error {
	if o.Study == "" || o.Out == "" {
		return usagef("--study and -o/--out are required")
	}
	inputs := []string{review.DefaultDBPath(o.Study)}
	if o.DB != "" {
		inputs = append(inputs, o.DB)
	}
	if err := safeout.File(o.Out, inputs...); err != nil {
		return usageError{err}
	}
	if o.DB == "" {
		if _, err := os.Stat(review.DefaultDBPath(o.Study)); err != nil {
			return fmt.Errorf("study %s: no review database (%w): nothing has been rated yet", o.Study, err)
		}
	}
	store, err := openReviewStore(o.Study, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	var n int
	if o.History {
		n, err = review.ExportHistory(ctx, store, o.Out)
	} else {
		n, err = review.Export(ctx, store, o.Out, review.ExportOptions{Source: o.Segmentation, SubmittedOnly: o.SubmittedOnly})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(logw, "wrote %d ratings to %s\n", n, o.Out)
	return nil
}
