package review

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Segmentation sources a rating can be about. Readers never see these names:
// they see "A" and "B", mapped per reader and case.
const (
	SourceAutomated = "automated"
	SourceManual    = "manual"
)

// Likert levels and their definitions, shown in the app next to the buttons.
var LikertLevels = []struct {
	Level      int
	Title      string
	Definition string
}{
	{1, "Usable as is", "Clinically usable without any correction: the boundaries of the cochlea, vestibule and semicircular canals follow the bone as you would have drawn them."},
	{2, "Minor corrections", "Usable after small local edits (a few slices, a thin rim, a small gap) that take less time than contouring from scratch."},
	{3, "Major corrections", "Recognisable but needs substantial editing (a missing or spilled structure, wrong over many slices); nearly as much work as manual contouring."},
	{4, "Indeterminate / unusable", "Cannot be judged or is not usable: wrong anatomy, failed segmentation, or the image quality does not allow a decision."},
}

// Errors the store reports to the server, which maps them to HTTP statuses.
var (
	ErrNotFound    = errors.New("not found")
	ErrSubmitted   = errors.New("case already submitted: its ratings can no longer be changed")
	ErrIncomplete  = errors.New("rate every segmentation of the case before submitting it")
	ErrExists      = errors.New("reader already exists")
	ErrNotAssigned = errors.New("case is not assigned to this reader")
)

// Store is the review database: readers, sessions, per-reader case order and
// ratings. Every write is one transaction that is durable (synchronous=FULL)
// before the call returns, so a rating the server acknowledged survives
// SIGKILL or power loss.
type Store struct {
	db *sql.DB // the one writer connection
	rd *sql.DB // a small pool of read-only connections (WAL lets them read during a write)
}

// Reader is a reader or admin account.
type Reader struct {
	ID    int64
	Name  string
	Admin bool
	// SecretKind is "token" (sha256 of a random 32-byte token) or "password"
	// (bcrypt).
	SecretKind string
	SecretHash string
	CreatedAt  time.Time
}

// Session is a signed-in browser or script. Every reader session sees
// opaque per-reader case keys instead of the manifest's case ids, which may
// name the centre.
type Session struct {
	ReaderID int64
	// CSRFHash is the sha256 of the session's CSRF token, which the server
	// derives from the cookie and never stores.
	CSRFHash  string
	ExpiresAt time.Time
}

// Assignment is one case in a reader's own random order, with that reader's
// state for it.
type Assignment struct {
	CaseID      string
	Position    int  // 1-based
	AIsAuto     bool // in compare mode, whether segmentation "A" is the automated one
	Submitted   bool
	SubmittedAt time.Time
	Ratings     map[string]Rating // by source
}

// Rating is one reader's rating of one segmentation of one case.
type Rating struct {
	ReaderID     int64
	Reader       string
	CaseID       string
	Source       string
	Likert       int
	Comment      string
	SecondsSpent float64
	RatedAt      time.Time
	Submitted    bool
}

// DefaultDBPath is where a study keeps its review database.
func DefaultDBPath(studyDir string) string { return filepath.Join(studyDir, "review.db") }

// OpenStore opens (creating if needed) the database at path.
func OpenStore(path string) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("review database %s: path may not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("review database %s: %w", path, err)
		}
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	// busy_timeout lets a CLI command (readers add, export) work while the
	// server runs; _txlock=immediate takes the write lock at BEGIN, so two
	// writers queue on busy_timeout instead of failing to upgrade a read lock.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("review database %s: %w", path, err)
	}
	// One writer connection: SQLite has one writer anyway, and it makes the
	// write order the commit order.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("review database %s: %w", path, err)
	}
	if created {
		// Comments are clinical opinions: keep a new database private to
		// its owner (SQLite gives the -wal and -shm files the same mode).
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("review database %s: %w", path, err)
		}
	}
	rd, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("review database %s: %w", path, err)
	}
	rd.SetMaxOpenConns(4)
	s.rd = rd
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.rd.Close()
	return errors.Join(err, s.db.Close())
}

const schema = `
CREATE TABLE IF NOT EXISTS readers (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	admin INTEGER NOT NULL DEFAULT 0,
	secret_kind TEXT NOT NULL CHECK (secret_kind IN ('token','password')),
	secret_hash TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	token_hash TEXT PRIMARY KEY,
	reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
	csrf TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	blind INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rating_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
	case_id TEXT NOT NULL,
	source TEXT NOT NULL,
	likert INTEGER NOT NULL,
	comment TEXT NOT NULL,
	seconds_spent REAL NOT NULL,
	rated_at TEXT NOT NULL,
	submit INTEGER NOT NULL,
	action TEXT NOT NULL DEFAULT 'rate'
);
CREATE TABLE IF NOT EXISTS settings (
	name TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
	reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
	case_id TEXT NOT NULL,
	position INTEGER NOT NULL,
	a_is_auto INTEGER NOT NULL,
	submitted_at TEXT,
	PRIMARY KEY (reader_id, case_id)
);
CREATE TABLE IF NOT EXISTS ratings (
	reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
	case_id TEXT NOT NULL,
	source TEXT NOT NULL CHECK (source IN ('automated','manual')),
	likert INTEGER NOT NULL CHECK (likert BETWEEN 1 AND 4),
	comment TEXT NOT NULL DEFAULT '',
	seconds_spent REAL NOT NULL DEFAULT 0,
	rated_at TEXT NOT NULL,
	PRIMARY KEY (reader_id, case_id, source)
);
CREATE TABLE IF NOT EXISTS qc_verdicts (
	case_id TEXT NOT NULL,
	side TEXT NOT NULL,
	score REAL NOT NULL CHECK (score BETWEEN 0 AND 1),
	flag TEXT NOT NULL CHECK (flag IN ('ok','review')),
	reasons TEXT NOT NULL DEFAULT '[]',
	imported_at TEXT NOT NULL,
	PRIMARY KEY (case_id, side)
);
`

func (s *Store) migrate() error {
	if _, err := s.db.Exec(schema); err != nil {
		return err
	}
	// Databases made before sessions could be blind lack the column (no
	// longer read: every reader session is blind).
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM pragma_table_info('sessions') WHERE name='blind'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := s.db.Exec(`ALTER TABLE sessions ADD COLUMN blind INTEGER NOT NULL DEFAULT 0`); err != nil {
			return err
		}
	}
	// Databases made before QC verdicts were imported (issue 16) get the
	// qc_verdicts table from the schema's CREATE TABLE IF NOT EXISTS above;
	// it has no column to add yet.
	//
	// Sessions made before CSRF tokens were derived from the cookie kept
	// the token in clear; the server no longer reads it, so drop it.
	if _, err := s.db.Exec(`UPDATE sessions SET csrf='' WHERE length(csrf) <> 64`); err != nil {
		return err
	}
	return migrateAudit(s.db)
}

// Secret returns the random 32-byte secret stored under name, creating it
// on first use (it keys the blinded case ids, so they stay the same across
// restarts).
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var b [32]byte
	_, _ = crand.Read(b[:])
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)`, name, b[:]); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name=?`, name).Scan(&v)
	return v, err
}

const timeLayout = time.RFC3339Nano

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// AddReader creates an account. ErrExists if the name is taken.
func (s *Store) AddReader(ctx context.Context, name string, admin bool, kind, hash string, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO readers (name, admin, secret_kind, secret_hash, created_at) VALUES (?,?,?,?,?)`,
		name, admin, kind, hash, fmtTime(now))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return 0, fmt.Errorf("%w: %s", ErrExists, name)
		}
		return 0, err
	}
	return res.LastInsertId()
}

// SetSecret replaces a reader's token or password and signs out every
// session of that reader.
func (s *Store) SetSecret(ctx context.Context, name, kind, hash string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE readers SET secret_kind=?, secret_hash=? WHERE name=?`, kind, hash, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("reader %s: %w", name, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE reader_id=(SELECT id FROM readers WHERE name=?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

func scanReader(row interface{ Scan(...any) error }) (Reader, error) {
	var r Reader
	var created string
	err := row.Scan(&r.ID, &r.Name, &r.Admin, &r.SecretKind, &r.SecretHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	r.CreatedAt = parseTime(created)
	return r, err
}

const readerCols = `id, name, admin, secret_kind, secret_hash, created_at`

// ReaderByName looks an account up by name.
func (s *Store) ReaderByName(ctx context.Context, name string) (Reader, error) {
	return scanReader(s.rd.QueryRowContext(ctx, `SELECT `+readerCols+` FROM readers WHERE name=?`, name))
}

// Readers lists every account by name.
func (s *Store) Readers(ctx context.Context) ([]Reader, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+readerCols+` FROM readers ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reader
	for rows.Next() {
		r, err := scanReader(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateSession stores a session under the hash of its cookie value, with
// the hash of its CSRF token: the database holds neither in clear.
func (s *Store) CreateSession(ctx context.Context, tokenHash string, readerID int64, csrfHash string, now, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, reader_id, csrf, created_at, expires_at, blind) VALUES (?,?,?,?,?,1)`,
		tokenHash, readerID, csrfHash, fmtTime(now), fmtTime(expires))
	return err
}

// SessionReader returns the live session stored under tokenHash and its
// reader; ErrNotFound when there is none or it has expired.
func (s *Store) SessionReader(ctx context.Context, tokenHash string, now time.Time) (Session, Reader, error) {
	var sess Session
	var exp string
	row := s.rd.QueryRowContext(ctx, `SELECT s.reader_id, s.csrf, s.expires_at, r.id, r.name, r.admin, r.secret_kind, r.secret_hash, r.created_at
		FROM sessions s JOIN readers r ON r.id = s.reader_id WHERE s.token_hash=?`, tokenHash)
	var r Reader
	var created string
	err := row.Scan(&sess.ReaderID, &sess.CSRFHash, &exp, &r.ID, &r.Name, &r.Admin, &r.SecretKind, &r.SecretHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, r, ErrNotFound
	}
	if err != nil {
		return sess, r, err
	}
	sess.ExpiresAt = parseTime(exp)
	r.CreatedAt = parseTime(created)
	if !now.Before(sess.ExpiresAt) {
		return sess, r, ErrNotFound
	}
	return sess, r, nil
}

// DeleteSession signs a session out.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash=?`, tokenHash)
	return err
}

// PurgeSessions deletes expired sessions.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, fmtTime(now))
	return err
}

// EnsureAssignments gives the reader every case in caseIDs it does not have
// yet, shuffled into a random order of its own after the cases it already
// has, and draws for each whether segmentation "A" is the automated one.
// Existing positions never change, so a reader's order is stable across
// restarts and manifest additions.
func (s *Store) EnsureAssignments(ctx context.Context, readerID int64, caseIDs []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	have := map[string]bool{}
	maxPos := 0
	rows, err := tx.QueryContext(ctx, `SELECT case_id, position FROM assignments WHERE reader_id=?`, readerID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var pos int
		if err := rows.Scan(&id, &pos); err != nil {
			rows.Close()
			return err
		}
		have[id] = true
		maxPos = max(maxPos, pos)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, id := range caseIDs {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rng := newRand()
	rng.Shuffle(len(missing), func(i, j int) { missing[i], missing[j] = missing[j], missing[i] })
	for i, id := range missing {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assignments (reader_id, case_id, position, a_is_auto) VALUES (?,?,?,?)`,
			readerID, id, maxPos+i+1, rng.IntN(2) == 0); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// newRand returns a generator seeded from the operating system, so no
// reader's order can be predicted from another's.
func newRand() *rand.Rand {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails since Go 1.24 (it crashes the program instead)
	return rand.New(rand.NewChaCha8(seed))
}

// Assignments returns the reader's cases in its order, restricted to the ids
// in keep (the cases the current manifest still has), with its ratings.
func (s *Store) Assignments(ctx context.Context, readerID int64, keep func(string) bool) ([]Assignment, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT case_id, position, a_is_auto, submitted_at FROM assignments WHERE reader_id=? ORDER BY position`, readerID)
	if err != nil {
		return nil, err
	}
	var out []Assignment
	idx := map[string]int{}
	for rows.Next() {
		var a Assignment
		var sub sql.NullString
		if err := rows.Scan(&a.CaseID, &a.Position, &a.AIsAuto, &sub); err != nil {
			rows.Close()
			return nil, err
		}
		if keep != nil && !keep(a.CaseID) {
			continue
		}
		a.Submitted = sub.Valid
		if sub.Valid {
			a.SubmittedAt = parseTime(sub.String)
		}
		a.Ratings = map[string]Rating{}
		idx[a.CaseID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Renumber so positions stay 1..n when the manifest lost cases.
	for i := range out {
		out[i].Position = i + 1
	}
	rs, err := s.ReaderRatings(ctx, readerID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if i, ok := idx[r.CaseID]; ok {
			r.Submitted = out[i].Submitted
			out[i].Ratings[r.Source] = r
		}
	}
	return out, nil
}

// Assignment returns one case of a reader's list with the reader's ratings
// of it; ErrNotAssigned when the reader does not have the case. It is the
// per-request check of the slice and rating handlers, so it reads one row.
func (s *Store) Assignment(ctx context.Context, readerID int64, caseID string) (Assignment, error) {
	var a Assignment
	var sub sql.NullString
	err := s.rd.QueryRowContext(ctx, `SELECT case_id, position, a_is_auto, submitted_at FROM assignments WHERE reader_id=? AND case_id=?`,
		readerID, caseID).Scan(&a.CaseID, &a.Position, &a.AIsAuto, &sub)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotAssigned
	}
	if err != nil {
		return a, err
	}
	a.Submitted = sub.Valid
	if sub.Valid {
		a.SubmittedAt = parseTime(sub.String)
	}
	rs, err := s.queryRatings(ctx, `WHERE r.reader_id=? AND r.case_id=?`, readerID, caseID)
	if err != nil {
		return a, err
	}
	a.Ratings = map[string]Rating{}
	for _, r := range rs {
		a.Ratings[r.Source] = r
	}
	return a, nil
}

// ReaderRatings returns one reader's ratings.
func (s *Store) ReaderRatings(ctx context.Context, readerID int64) ([]Rating, error) {
	return s.queryRatings(ctx, `WHERE r.reader_id=?`, readerID)
}

func (s *Store) queryRatings(ctx context.Context, where string, args ...any) ([]Rating, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT r.reader_id, rd.name, r.case_id, r.source, r.likert, r.comment, r.seconds_spent, r.rated_at,
		a.submitted_at IS NOT NULL
		FROM ratings r JOIN readers rd ON rd.id = r.reader_id
		LEFT JOIN assignments a ON a.reader_id = r.reader_id AND a.case_id = r.case_id `+where+`
		ORDER BY r.case_id, rd.name, r.source`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rating
	for rows.Next() {
		var r Rating
		var at string
		if err := rows.Scan(&r.ReaderID, &r.Reader, &r.CaseID, &r.Source, &r.Likert, &r.Comment, &r.SecondsSpent, &at, &r.Submitted); err != nil {
			return nil, err
		}
		r.RatedAt = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveRating stores (or replaces) a rating in one durable transaction. The
// case must be assigned to the reader and not yet submitted. When submit is
// true the case is submitted in the same transaction, provided every source
// in required has a rating.
func (s *Store) SaveRating(ctx context.Context, r Rating, submit bool, required []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkOpen(ctx, tx, r.ReaderID, r.CaseID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ratings (reader_id, case_id, source, likert, comment, seconds_spent, rated_at)
		VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (reader_id, case_id, source) DO UPDATE SET likert=excluded.likert, comment=excluded.comment,
		seconds_spent=excluded.seconds_spent, rated_at=excluded.rated_at`,
		r.ReaderID, r.CaseID, r.Source, r.Likert, r.Comment, r.SecondsSpent, fmtTime(r.RatedAt)); err != nil {
		return err
	}
	// The audit trail keeps every acknowledged rating, also those changed
	// later, in the same transaction.
	if err := auditRating(ctx, tx, r, submit); err != nil {
		return err
	}
	if submit {
		if err := submitTx(ctx, tx, r.ReaderID, r.CaseID, required, r.RatedAt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Submit makes a case's ratings final.
func (s *Store) Submit(ctx context.Context, readerID int64, caseID string, required []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkOpen(ctx, tx, readerID, caseID); err != nil {
		return err
	}
	if err := submitTx(ctx, tx, readerID, caseID, required, now); err != nil {
		return err
	}
	if err := auditSubmit(ctx, tx, readerID, caseID, now); err != nil {
		return err
	}
	return tx.Commit()
}

func checkOpen(ctx context.Context, tx *sql.Tx, readerID int64, caseID string) error {
	var sub sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT submitted_at FROM assignments WHERE reader_id=? AND case_id=?`, readerID, caseID).Scan(&sub)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotAssigned
	}
	if err != nil {
		return err
	}
	if sub.Valid {
		return ErrSubmitted
	}
	return nil
}

func submitTx(ctx context.Context, tx *sql.Tx, readerID int64, caseID string, required []string, now time.Time) error {
	for _, src := range required {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ratings WHERE reader_id=? AND case_id=? AND source=?`, readerID, caseID, src).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrIncomplete
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE assignments SET submitted_at=? WHERE reader_id=? AND case_id=?`, fmtTime(now), readerID, caseID)
	return err
}

// AllRatings returns every rating of the given source, by case then reader.
func (s *Store) AllRatings(ctx context.Context, source string) ([]Rating, error) {
	return s.queryRatings(ctx, `WHERE r.source=?`, source)
}

// Progress is one reader's progress, for the admin view.
type Progress struct {
	Reader       string    `json:"reader"`
	Admin        bool      `json:"admin"`
	Assigned     int       `json:"assigned"`
	Rated        int       `json:"rated"`
	Submitted    int       `json:"submitted"`
	LastActivity time.Time `json:"last_activity,omitzero"`
}

// ReaderProgress counts, per account, cases assigned, cases with at least
// one rating and cases submitted (among the cases kept by keep).
func (s *Store) ReaderProgress(ctx context.Context, keep func(string) bool) ([]Progress, error) {
	readers, err := s.Readers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Progress, 0, len(readers))
	for _, r := range readers {
		p := Progress{Reader: r.Name, Admin: r.Admin}
		as, err := s.Assignments(ctx, r.ID, keep)
		if err != nil {
			return nil, err
		}
		p.Assigned = len(as)
		for _, a := range as {
			if len(a.Ratings) > 0 {
				p.Rated++
			}
			if a.Submitted {
				p.Submitted++
				if a.SubmittedAt.After(p.LastActivity) {
					p.LastActivity = a.SubmittedAt
				}
			}
			for _, rt := range a.Ratings {
				if rt.RatedAt.After(p.LastActivity) {
					p.LastActivity = rt.RatedAt
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}
