package review

import "net/http"

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
