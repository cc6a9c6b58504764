package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/render"
)

// segmentations are the blinded names readers see.
func (s *Server) segmentations() []string {
	if s.o.Compare {
		return []string{"A", "B"}
	}
	return []string{"A"}
}

// requiredSources are the segmentations a reader must rate before a case
// can be submitted.
func (s *Server) requiredSources() []string {
	if s.o.Compare {
		return []string{SourceAutomated, SourceManual}
	}
	return []string{SourceAutomated}
}

// sourceOf maps a blinded segmentation name to its source for one reader's
// case.
func (s *Server) sourceOf(a Assignment, seg string) (string, error) {
	switch {
	case seg == "A" && !s.o.Compare:
		return SourceAutomated, nil
	case seg == "A" && s.o.Compare || seg == "B" && s.o.Compare:
		if (seg == "A") == a.AIsAuto {
			return SourceAutomated, nil
		}
		return SourceManual, nil
	}
	return "", errStatus(http.StatusBadRequest, "segmentation %q, want %s", seg, strings.Join(s.segmentations(), " or "))
}

// segOf maps a source back to the blinded name a reader sees for it.
func (s *Server) segOf(a Assignment, source string) string {
	if !s.o.Compare {
		return "A"
	}
	if (source == SourceAutomated) == a.AIsAuto {
		return "A"
	}
	return "B"
}

// caseSummary is one row of a reader's case list.
type caseSummary struct {
	Position  int                   `json:"position"`
	CaseID    string                `json:"case_id"`
	Status    string                `json:"status"` // unrated, rated, submitted
	Ratings   map[string]ratingJSON `json:"ratings"`
	Submitted bool                  `json:"submitted"`
}

// summary is a reader's case with its ratings under blinded names.
func (s *Server) summary(au authed, a Assignment) caseSummary {
	cs := caseSummary{Position: a.Position, CaseID: s.idOut(au, a.CaseID), Status: "unrated", Ratings: map[string]ratingJSON{}, Submitted: a.Submitted}
	for _, r := range a.Ratings {
		cs.Ratings[s.segOf(a, r.Source)] = s.ratingOut(au, a, r)
	}
	switch {
	case a.Submitted:
		cs.Status = "submitted"
	case len(a.Ratings) > 0:
		cs.Status = "rated"
	}
	return cs
}

// inStudy reports whether the study (its manifest) still lists case id.
func (s *Server) inStudy(id string) bool { _, ok := s.o.Study.Case(id); return ok }

// assignments are the reader's cases in their reading order, assigning
// cases added to the manifest since the reader signed in.
func (s *Server) assignments(ctx context.Context, a authed) ([]Assignment, error) {
	as, err := s.o.Store.Assignments(ctx, a.reader.ID, s.inStudy)
	if err != nil {
		return nil, err
	}
	if len(as) < len(s.o.Study.Cases) {
		// The manifest gained cases since this reader signed in.
		if err := s.o.Store.EnsureAssignments(ctx, a.reader.ID, s.o.Study.IDs()); err != nil {
			return nil, err
		}
		return s.o.Store.Assignments(ctx, a.reader.ID, s.inStudy)
	}
	return as, nil
}

// assignment finds the reader's assignment for the case in the request
// path; a case that is not in the study or not the reader's is 404.
func (s *Server) assignment(ctx context.Context, a authed, id string) (Assignment, int, []Assignment, error) {
	as, err := s.assignments(ctx, a)
	if err != nil {
		return Assignment{}, 0, nil, err
	}
	for i, x := range as {
		if x.CaseID == id {
			return x, i, as, nil
		}
	}
	return Assignment{}, 0, nil, errStatus(http.StatusNotFound, "no such case")
}

// caseOf is the fast check for per-slice requests: the case must be in the
// study and assigned to the reader (404 otherwise).
func (s *Server) caseOf(ctx context.Context, a authed, id string) (Case, Assignment, error) {
	c, ok := s.o.Study.Case(id)
	if !ok {
		return c, Assignment{}, errStatus(http.StatusNotFound, "no such case")
	}
	asg, err := s.o.Store.Assignment(ctx, a.reader.ID, id)
	if errors.Is(err, ErrNotAssigned) {
		// assignments are made at sign-in; a case added to the manifest
		// since then is assigned here
		if _, err := s.assignments(ctx, a); err != nil {
			return c, asg, err
		}
		asg, err = s.o.Store.Assignment(ctx, a.reader.ID, id)
	}
	return c, asg, err
}

// handleCases answers GET /api/cases: the reader's case list, how many are
// submitted and which case to resume at.
func (s *Server) handleCases(w http.ResponseWriter, r *http.Request, a authed) error {
	as, err := s.assignments(r.Context(), a)
	if err != nil {
		return err
	}
	out := struct {
		Total         int           `json:"total"`
		Submitted     int           `json:"submitted"`
		Resume        string        `json:"resume"`
		Segmentations []string      `json:"segmentations"`
		Cases         []caseSummary `json:"cases"`
	}{Total: len(as), Segmentations: s.segmentations(), Cases: []caseSummary{}}
	for _, x := range as {
		if x.Submitted {
			out.Submitted++
		} else if out.Resume == "" {
			out.Resume = s.idOut(a, x.CaseID)
		}
		out.Cases = append(out.Cases, s.summary(a, x))
	}
	if out.Resume == "" && len(as) > 0 {
		out.Resume = s.idOut(a, as[len(as)-1].CaseID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// caseVolumes loads (from the cache) the CT and the label maps for one
// reader's case, by blinded segmentation name.
func (s *Server) caseVolumes(ctx context.Context, c Case, asg Assignment) (*Loaded, map[string]*Loaded, error) {
	imgPath, err := s.o.Study.Confine(c.Image)
	if err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	img, err := s.cache.Get(ctx, imgPath, false)
	if err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	labels := map[string]*Loaded{}
	for _, seg := range s.segmentations() {
		src, _ := s.sourceOf(asg, seg)
		p := c.Prediction
		if src == SourceManual {
			p = c.Reference
		}
		if p, err = s.o.Study.Confine(p); err != nil {
			return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		l, err := s.cache.Get(ctx, p, true)
		if err != nil {
			return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		tol := 0.05 * min(img.Geometry.Spacing[0], img.Geometry.Spacing[1], img.Geometry.Spacing[2])
		if !img.Geometry.SameGrid(l.Geometry, max(tol, 1e-3)) {
			return nil, nil, errStatus(http.StatusUnprocessableEntity, "case %s: segmentation %s is not on the CT's voxel grid", c.ID, seg)
		}
		labels[seg] = l
	}
	return img, labels, nil
}

// viewInfo is one view's slice size and pixel spacing, for the viewer's
// layout and scale bars.
type viewInfo struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	ColMM  float64 `json:"col_mm"`
	RowMM  float64 `json:"row_mm"`
	Slices int     `json:"slices"`
}

// handleCase answers GET /api/cases/{id}: the case's ratings, neighbours,
// views, label colours and where its ears are, and starts loading the next
// case in the background.
func (s *Server) handleCase(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, _ := s.o.Study.Case(id)
	asg, i, as, err := s.assignment(r.Context(), a, id)
	if err != nil {
		return err
	}
	if i+1 < len(as) {
		select {
		case s.prefetch <- as[i+1].CaseID + "\x00" + strconv.FormatInt(a.reader.ID, 10):
		default:
		}
	}
	prev, next := "", ""
	if i > 0 {
		prev = s.idOut(a, as[i-1].CaseID)
	}
	if i+1 < len(as) {
		next = s.idOut(a, as[i+1].CaseID)
	}
	sum := s.summary(a, asg)
	var spent float64
	for _, rt := range asg.Ratings {
		spent = max(spent, rt.SecondsSpent)
	}
	out := map[string]any{
		"case_id": s.idOut(a, id), "position": asg.Position, "total": len(as), "prev": prev, "next": next,
		"status": sum.Status, "submitted": asg.Submitted, "ratings": sum.Ratings, "seconds_spent": spent,
		"segmentations": s.segmentations(),
		"window":        map[string]float64{"width": render.BoneWindow.Width, "level": render.BoneWindow.Level},
		"label_colours": labelColours(),
	}
	img, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		// The case stays ratable (e.g. 4, indeterminate) when its files
		// cannot be shown; the reader sees why and the admin finds it in
		// the log.
		s.o.Log.Error("case cannot be shown", "case", id, "err", err)
		msg := "the images of this case cannot be shown"
		var ae *apiError
		if errors.As(err, &ae) {
			msg = strings.ReplaceAll(ae.msg, id, "this case")
		}
		out["load_error"] = msg
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	f := img.Frame
	views := map[string]viewInfo{}
	for name, v := range map[string]View{"axial": Axial, "coronal": Coronal, "sagittal": Sagittal} {
		wd, ht, cm, rm, n := f.SliceSize(v)
		views[name] = viewInfo{wd, ht, cm, rm, n}
	}
	// Start the slices on the inner ear: the centre of the larger ear of
	// the first segmentation that has one; the viewer can jump to the other.
	ears := [][3]int{{f.Dims[0] / 2, f.Dims[1] / 2, f.Dims[2] / 2}}
	for _, seg := range s.segmentations() {
		if es := earsOf(labels[seg]); len(es) > 0 {
			ears = ears[:0]
			for _, e := range es {
				ears = append(ears, e.Centre)
			}
			break
		}
	}
	out["views"], out["dims"], out["spacing_mm"], out["centre"], out["ears"] = views, f.Dims, f.Spacing, ears[0], ears
	writeJSON(w, http.StatusOK, out)
	return nil
}

// prefetcher loads the case after the one a reader opened, so that "Next"
// finds its volumes in the cache.
func (s *Server) prefetcher() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case key := <-s.prefetch:
			id, rid, _ := strings.Cut(key, "\x00")
			readerID, _ := strconv.ParseInt(rid, 10, 64)
			c, ok := s.o.Study.Case(id)
			if !ok {
				continue
			}
			asg, err := s.o.Store.Assignment(s.ctx, readerID, id)
			if err != nil {
				continue
			}
			if _, _, err := s.caseVolumes(s.ctx, c, asg); err != nil {
				s.o.Log.Warn("prefetch", "case", id, "err", err)
			}
		}
	}
}

// labelColours are package ear's colours of labels 1 to 255 as [r, g, b]:
// the 3-D view colours the surface with the table the label slices are
// drawn in (ear.Palette), with no copy of it, or of its rule for labels
// beyond otoseg's own, in JavaScript.
func labelColours() [][3]uint8 {
	out := make([][3]uint8, 255)
	for i := range out {
		c := ear.Colour(i + 1)
		out[i] = [3]uint8{c.R, c.G, c.B}
	}
	return out
}
