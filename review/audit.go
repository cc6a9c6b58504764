package review

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ---- audit trail
//
// Every change of a reader's ratings is an event of the audit trail, written
// in the transaction that makes the change, so the trail and the ratings
// never disagree: a rating or a changed rating (action "rate", with submit
// set when the same request submitted the case) and a submission through
// POST /api/cases/{key}/submit (action "submit", one event per rated
// segmentation with the values that became final).

// Audit actions.
const (
	ActionRate   = "rate"
	ActionSubmit = "submit"
)

// RatingEvent is one acknowledged change, kept even when the rating was
// changed afterwards. For a submission, RatedAt is when the case was
// submitted and the rating fields are the values that became final.
type RatingEvent struct {
	Rating
	Submit bool   // the case was submitted by this request
	Action string // ActionRate or ActionSubmit
}

// migrateAudit adds the action column to audit trails written before
// submissions were events of their own.
func migrateAudit(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('rating_events') WHERE name='action'`).Scan(&n); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	if n == 0 {
		if _, err := db.Exec(`ALTER TABLE rating_events ADD COLUMN action TEXT NOT NULL DEFAULT 'rate'`); err != nil {
			return fmt.Errorf("audit trail: %w", err)
		}
	}
	return nil
}

// auditRating records a rating (or a changed one) in tx.
func auditRating(ctx context.Context, tx *sql.Tx, r Rating, submit bool) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rating_events (reader_id, case_id, source, likert, comment, seconds_spent, rated_at, submit, action)
		VALUES (?,?,?,?,?,?,?,?,?)`, r.ReaderID, r.CaseID, r.Source, r.Likert, r.Comment, r.SecondsSpent, fmtTime(r.RatedAt), submit, ActionRate)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}

// auditSubmit records in tx that the reader submitted the case at now: one
// event per rated segmentation, with its final values.
func auditSubmit(ctx context.Context, tx *sql.Tx, readerID int64, caseID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rating_events (reader_id, case_id, source, likert, comment, seconds_spent, rated_at, submit, action)
		SELECT reader_id, case_id, source, likert, comment, seconds_spent, ?, 1, ?
		FROM ratings WHERE reader_id=? AND case_id=? ORDER BY source`, fmtTime(now), ActionSubmit, readerID, caseID)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}

// History returns every event of the audit trail in commit order.
func (s *Store) History(ctx context.Context) ([]RatingEvent, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT e.reader_id, rd.name, e.case_id, e.source, e.likert, e.comment, e.seconds_spent, e.rated_at, e.submit, e.action
		FROM rating_events e JOIN readers rd ON rd.id = e.reader_id ORDER BY e.id`)
	if err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	defer rows.Close()
	var out []RatingEvent
	for rows.Next() {
		var e RatingEvent
		var at string
		if err := rows.Scan(&e.ReaderID, &e.Reader, &e.CaseID, &e.Source, &e.Likert, &e.Comment, &e.SecondsSpent, &at, &e.Submit, &e.Action); err != nil {
			return nil, fmt.Errorf("audit trail: %w", err)
		}
		e.RatedAt = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
