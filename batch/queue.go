// Package batch spreads segmentation jobs over worker processes and
// machines with River (github.com/riverqueue/river), an existing job engine
// whose queue lives in a database: a SQLite file for one machine, a
// PostgreSQL server for many.
//
// One job is one scan. Jobs are unique by the scan's content hash, the
// model's checksum and the options that change the result, so submitting
// an archive twice adds nothing. Workers take jobs, run a Handler (otoseg's
// segmentation in cmd/otoseg), retry failures with exponential backoff up
// to each job's attempt limit and keep the error of every attempt. A worker
// killed mid-job (kill -9, a lost machine) leaves its job "running"; River's
// leader rescues it after RescueAfter, which must exceed JobTimeout, so a
// job is never rescued while a live worker still holds it. Handlers write
// their outputs atomically, so a job run twice leaves one complete copy.
package batch

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// DefaultQueue is the SQLite queue file used when none is named.
const DefaultQueue = "otoseg-queue.db"

// Queue is an open job queue.
type Queue struct {
	// Location is the SQLite file or PostgreSQL URL (password hidden).
	Location  string
	newClient func(cfg *river.Config) (riverClient, error)
	query     func(ctx context.Context, q string) ([][2]any, error)
	close     func()
}

// riverClient is what this package uses of a river.Client, whatever its
// driver's transaction type.
type riverClient interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
}

// IsPostgres tells whether loc names a PostgreSQL server.
func IsPostgres(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// Open opens the queue at loc, a postgres:// URL or a SQLite file path
// (created when missing), and brings its schema up to date with River's
// migrations.
func Open(ctx context.Context, loc string) (*Queue, error) {
	if loc == "" {
		loc = DefaultQueue
	}
	if IsPostgres(loc) {
		return openPostgres(ctx, loc)
	}
	return openSQLite(ctx, loc)
}

// Close releases the database connections.
func (q *Queue) Close() { q.close() }

func openSQLite(ctx context.Context, path string) (*Queue, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("queue %s: a folder, not a SQLite file", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("queue %s: %w", path, err)
	}
	// Several worker processes share the file: WAL lets readers work
	// while one writes, and a busy timeout makes writers wait their turn
	// instead of failing. One connection per process, as the driver asks.
	dsn := "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	driver := riversqlite.New(db)
	if err := migrate(ctx, driver); err != nil {
		db.Close()
		return nil, fmt.Errorf("queue %s: %w", path, err)
	}
	return &Queue{
		Location: path,
		newClient: func(cfg *river.Config) (riverClient, error) {
			return river.NewClient(driver, cfg)
		},
		query: func(ctx context.Context, q string) ([][2]any, error) {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return nil, err
			}
			return scanPairs(rows.Next, rows.Scan, rows.Err, rows.Close)
		},
		close: func() { db.Close() },
	}, nil
}

func openPostgres(ctx context.Context, url string) (*Queue, error) {
	shown := hidePassword(url)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", shown, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue %s: %w", shown, err)
	}
	driver := riverpgxv5.New(pool)
	// Workers starting together on a fresh database must not migrate at
	// once: an advisory lock makes them take turns.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue %s: %w", shown, err)
	}
	const lockKey = 0x6f746f736567 // "otoseg"
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey)
	if err == nil {
		err = migrate(ctx, driver)
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
	}
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue %s: %w", shown, err)
	}
	return &Queue{
		Location: shown,
		newClient: func(cfg *river.Config) (riverClient, error) {
			return river.NewClient(driver, cfg)
		},
		query: func(ctx context.Context, q string) ([][2]any, error) {
			rows, err := pool.Query(ctx, q)
			if err != nil {
				return nil, err
			}
			return scanPairs(rows.Next, rows.Scan, rows.Err, func() error { rows.Close(); return nil })
		},
		close: pool.Close,
	}, nil
}

// migrate applies River's migrations (a no-op when up to date).
func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating the River schema: %w", err)
	}
	return nil
}

// scanPairs reads two-column rows.
func scanPairs(next func() bool, scan func(...any) error, errf func() error, closef func() error) ([][2]any, error) {
	defer closef()
	var out [][2]any
	for next() {
		var a, b any
		if err := scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]any{a, b})
	}
	return out, errf()
}

// hidePassword removes the password from a URL for messages.
func hidePassword(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":xxxxx" + url[at:]
	}
	return url
}
