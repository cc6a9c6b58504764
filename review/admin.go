package review

import (
	"net/http"

	"github.com/otoseg/otoseg/qc"
)

// handleProgress answers GET /api/admin/progress: how far each reader
// (not the admins) has got, without ratings or comments, so that the admin
// can chase readers without being unblinded.
func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request, a authed) error {
	ps, err := s.o.Store.ReaderProgress(r.Context(), s.inStudy)
	if err != nil {
		return err
	}
	out := []Progress{}
	for _, p := range ps {
		if !p.Admin {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": len(s.o.Study.Cases), "readers": out})
	return nil
}

// qcCase is one case of the admin's QC table: its ears' verdicts, none
// when its sidecar had no QC.
type qcCase struct {
	CaseID string      `json:"case_id"`
	Ears   []QCVerdict `json:"ears"`
}

// handleAdminQC answers GET /api/admin/qc: otoseg segment's QC verdict on
// each ear of every case, in manifest order, as imported into the
// database at start-up, so that the admin can see which segmentations QC
// doubted (and later set them against the ratings). Admin only: api
// refuses readers, who must not see the machine's opinion before they
// give theirs.
func (s *Server) handleAdminQC(w http.ResponseWriter, r *http.Request, a authed) error {
	vs, err := s.o.Store.QCVerdictsStored(r.Context(), s.inStudy)
	if err != nil {
		return err
	}
	byCase := map[string][]QCVerdict{}
	flagged, scored := 0, 0
	for _, v := range vs {
		byCase[v.CaseID] = append(byCase[v.CaseID], v)
		scored++
		if v.Flag == qc.Review {
			flagged++
		}
	}
	out := make([]qcCase, 0, len(s.o.Study.Cases))
	for _, c := range s.o.Study.Cases {
		ears := byCase[c.ID]
		if ears == nil {
			ears = []QCVerdict{}
		}
		out = append(out, qcCase{CaseID: c.ID, Ears: ears})
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out, "scored_ears": scored, "flagged_ears": flagged})
	return nil
}
