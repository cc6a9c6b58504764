package review

import (
	"io"
	"math"
	"net/http"
	"time"
	"unicode/utf8"
)

// handleLikert answers GET /api/likert: the rating scale's levels and
// definitions, which the form shows.
func (s *Server) handleLikert(w http.ResponseWriter, r *http.Request, a authed) error {
	type level struct {
		Level      int    `json:"level"`
		Title      string `json:"title"`
		Definition string `json:"definition"`
	}
	var out []level
	for _, l := range LikertLevels {
		out = append(out, level{l.Level, l.Title, l.Definition})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ratingJSON is a rating as a reader sees it: blinded case id and
// segmentation name.
type ratingJSON struct {
	CaseID       string    `json:"case_id"`
	Segmentation string    `json:"segmentation"`
	Likert       int       `json:"likert"`
	Comment      string    `json:"comment"`
	SecondsSpent float64   `json:"seconds_spent"`
	RatedAt      time.Time `json:"rated_at"`
	Submitted    bool      `json:"submitted"`
}

// ratingOut blinds a stored rating for the reader.
func (s *Server) ratingOut(au authed, a Assignment, r Rating) ratingJSON {
	return ratingJSON{CaseID: s.idOut(au, r.CaseID), Segmentation: s.segOf(a, r.Source), Likert: r.Likert, Comment: r.Comment,
		SecondsSpent: r.SecondsSpent, RatedAt: r.RatedAt.UTC(), Submitted: a.Submitted}
}

// rateRequest is the body of POST /api/ratings.
type rateRequest struct {
	CaseID       string   `json:"case_id"`
	Segmentation string   `json:"segmentation"`
	Likert       int      `json:"likert"`
	Comment      string   `json:"comment"`
	SecondsSpent *float64 `json:"seconds_spent"`
	Submit       bool     `json:"submit"`
}

// handleRate answers POST /api/ratings: it checks and saves one rating,
// and submits the case when asked.
func (s *Server) handleRate(w http.ResponseWriter, r *http.Request, a authed) error {
	var req rateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Likert < 1 || req.Likert > 4 {
		return errStatus(http.StatusBadRequest, "likert must be 1, 2, 3 or 4")
	}
	if !utf8.ValidString(req.Comment) || utf8.RuneCountInString(req.Comment) > MaxCommentLen {
		return errStatus(http.StatusBadRequest, "comment must be valid text of at most %d characters", MaxCommentLen)
	}
	secs := 0.0
	if req.SecondsSpent != nil {
		secs = *req.SecondsSpent
	}
	if math.IsNaN(secs) || secs < 0 || secs > MaxSeconds {
		return errStatus(http.StatusBadRequest, "seconds_spent must be between 0 and %d", MaxSeconds)
	}
	if req.Segmentation == "" {
		req.Segmentation = "A"
	}
	id, err := s.resolveID(a, req.CaseID)
	if err != nil {
		return err
	}
	req.CaseID = id
	_, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	src, err := s.sourceOf(asg, req.Segmentation)
	if err != nil {
		return err
	}
	rt := Rating{ReaderID: a.reader.ID, Reader: a.reader.Name, CaseID: req.CaseID, Source: src, Likert: req.Likert,
		Comment: req.Comment, SecondsSpent: secs, RatedAt: s.o.Now().UTC().Truncate(time.Second)}
	if err := s.o.Store.SaveRating(r.Context(), rt, req.Submit, s.requiredSources()); err != nil {
		return err
	}
	asg.Submitted = req.Submit
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "rating": s.ratingOut(a, asg, rt), "submitted": req.Submit})
	return nil
}

// handleSubmit answers POST /api/cases/{id}/submit: it closes the case to
// further changes once every segmentation is rated.
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.ContentLength > 0 {
		// A body is not needed; refuse big ones rather than read them.
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
			return err
		}
	}
	if err := s.o.Store.Submit(r.Context(), a.reader.ID, id, s.requiredSources(), s.o.Now().UTC().Truncate(time.Second)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "case_id": s.idOut(a, id), "submitted": true})
	return nil
}

// handleMyRatings answers GET /api/ratings: the reader's own ratings.
func (s *Server) handleMyRatings(w http.ResponseWriter, r *http.Request, a authed) error {
	as, err := s.assignments(r.Context(), a)
	if err != nil {
		return err
	}
	out := []ratingJSON{}
	for _, x := range as {
		for _, seg := range s.segmentations() {
			src, _ := s.sourceOf(x, seg)
			if rt, ok := x.Ratings[src]; ok {
				out = append(out, s.ratingOut(a, x, rt))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
