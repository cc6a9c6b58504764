package review

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ---- QC verdicts
//
// otoseg segment scores each ear of its segmentation (package qc) and
// writes the verdict into its sidecar predictions/<case_id>.json. The
// server imports the verdicts of the study's cases into the database when
// it starts, next to the ratings they will be compared with, so the admin
// view and later analyses read the verdict of the segmentation the readers
// were shown, whatever happens to the predictions folder afterwards. Only
// admin handlers read them: readers stay blind to the machine's opinion.

// QCVerdict is the QC verdict on one ear of a case, as imported.
type QCVerdict struct {
	CaseID     string    `json:"case_id"`
	Side       string    `json:"side"`
	Score      float64   `json:"score"`
	Flag       string    `json:"flag"`
	Reasons    []string  `json:"reasons"`
	ImportedAt time.Time `json:"imported_at"`
}

// QCVerdicts lists the verdicts of the study's cases, in manifest order
// and by side.
func (st *Study) QCVerdicts() []QCVerdict {
	var out []QCVerdict
	for _, c := range st.Cases {
		for _, e := range c.QC {
			out = append(out, QCVerdict{CaseID: c.ID, Side: e.Side, Score: e.Score, Flag: e.Flag, Reasons: e.Reasons})
		}
	}
	return out
}

// ImportQC replaces, in one transaction, the verdicts of every case in
// caseIDs with those of verdicts (stamped now): a case segmented again
// with fewer ears, or whose sidecar lost its verdict, keeps no stale one.
// Verdicts of cases no longer in the study are left alone; readers'
// ratings of them are kept too.
func (s *Store) ImportQC(ctx context.Context, caseIDs []string, verdicts []QCVerdict, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("importing QC verdicts: %w", err)
	}
	defer tx.Rollback()
	for _, id := range caseIDs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM qc_verdicts WHERE case_id=?`, id); err != nil {
			return fmt.Errorf("importing QC verdicts: case %s: %w", id, err)
		}
	}
	for _, v := range verdicts {
		reasons, err := json.Marshal(v.Reasons)
		if err != nil {
			return fmt.Errorf("importing QC verdicts: case %s %s: %w", v.CaseID, v.Side, err)
		}
		if v.Reasons == nil {
			reasons = []byte("[]")
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO qc_verdicts (case_id, side, score, flag, reasons, imported_at) VALUES (?,?,?,?,?,?)`,
			v.CaseID, v.Side, v.Score, v.Flag, string(reasons), fmtTime(now))
		if err != nil {
			return fmt.Errorf("importing QC verdicts: case %s %s: %w", v.CaseID, v.Side, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("importing QC verdicts: %w", err)
	}
	return nil
}

// QCVerdictsStored returns the stored verdicts of the cases kept by keep,
// by case id and side.
func (s *Store) QCVerdictsStored(ctx context.Context, keep func(string) bool) ([]QCVerdict, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT case_id, side, score, flag, reasons, imported_at FROM qc_verdicts ORDER BY case_id, side`)
	if err != nil {
		return nil, fmt.Errorf("QC verdicts: %w", err)
	}
	defer rows.Close()
	var out []QCVerdict
	for rows.Next() {
		var v QCVerdict
		var reasons, at string
		if err := rows.Scan(&v.CaseID, &v.Side, &v.Score, &v.Flag, &reasons, &at); err != nil {
			return nil, fmt.Errorf("QC verdicts: %w", err)
		}
		if keep != nil && !keep(v.CaseID) {
			continue
		}
		if err := json.Unmarshal([]byte(reasons), &v.Reasons); err != nil {
			return nil, fmt.Errorf("QC verdicts: case %s %s: reasons: %w", v.CaseID, v.Side, err)
		}
		v.ImportedAt = parseTime(at)
		out = append(out, v)
	}
	return out, rows.Err()
}
