package review

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/qc"
)

// Case is one reviewable case: the CT, the automated segmentation and, when
// the manifest has one, the manual (reference) segmentation. Paths are
// absolute and confined to the study folder.
type Case struct {
	ID         string
	Image      string
	Prediction string
	Reference  string // empty when the manifest has no label for the case
	// Center is kept only to warn when case ids would unblind it; it is never
	// sent to a reader.
	Center string
	// QC is otoseg segment's verdict on each ear of the automated
	// segmentation, from its sidecar predictions/<case_id>.json; empty
	// when there is no sidecar or it predates QC. Only the admin view shows
	// it: a reader who saw "review" or a low score would rate the machine's
	// doubt instead of the segmentation.
	QC []EarQC
}

// EarQC is the QC verdict on one ear (qc.Result: score, flag, reasons).
type EarQC struct {
	Side string `json:"side"`
	qc.Result
}

// Study is a study folder: manifest.csv plus predictions/<case_id>.nii.gz.
type Study struct {
	Dir   string // absolute, symlinks resolved
	Cases []Case // reviewable cases in manifest order
	// Skipped explains each manifest case that cannot be reviewed (missing
	// prediction, or missing reference when both are compared).
	Skipped []string
	// QCWarnings name sidecars that could not be read: their cases stay
	// reviewable (QC only advises the admin) but show no verdict.
	QCWarnings []string
	byID       map[string]int
}

// PredictionsDir is the study sub-folder holding the automated segmentations.
const PredictionsDir = "predictions"

// OpenStudy reads dir/manifest.csv and resolves every path, refusing any path
// that leaves the study folder (lexically or through a symbolic link). When
// needReference is true (readers compare manual and automated segmentations)
// cases without a manual segmentation are skipped.
func OpenStudy(dir string, needReference bool) (*Study, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("study %s: not a folder", dir)
	}
	m, err := dataset.Read(filepath.Join(real, "manifest.csv"))
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", dir, err)
	}
	s := &Study{Dir: real, byID: map[string]int{}}
	for _, mc := range m.Cases {
		// dataset.Read already validated the id; check again because the id
		// becomes a file name below and a URL path segment in the server.
		if !dataset.ValidCaseID(mc.ID) {
			return nil, fmt.Errorf("study %s: case_id %q is not a safe name", dir, mc.ID)
		}
		c := Case{ID: mc.ID, Center: mc.Center}
		if c.Image, err = s.Confine(mc.Image); err != nil {
			return nil, fmt.Errorf("study %s: case %s: image: %w", dir, mc.ID, err)
		}
		if mc.Label != "" {
			if c.Reference, err = s.Confine(mc.Label); err != nil {
				return nil, fmt.Errorf("study %s: case %s: label: %w", dir, mc.ID, err)
			}
		}
		pred := filepath.Join(real, PredictionsDir, mc.ID+".nii.gz")
		if c.Prediction, err = s.Confine(pred); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				s.Skipped = append(s.Skipped, fmt.Sprintf("case %s: no %s/%s.nii.gz", mc.ID, PredictionsDir, mc.ID))
				continue
			}
			return nil, fmt.Errorf("study %s: case %s: prediction: %w", dir, mc.ID, err)
		}
		if needReference && c.Reference == "" {
			s.Skipped = append(s.Skipped, fmt.Sprintf("case %s: no manual segmentation to compare with", mc.ID))
			continue
		}
		if c.QC, err = s.readQC(mc.ID); err != nil {
			s.QCWarnings = append(s.QCWarnings, fmt.Sprintf("case %s: QC verdict not read: %v", mc.ID, err))
		}
		s.byID[c.ID] = len(s.Cases)
		s.Cases = append(s.Cases, c)
	}
	if len(s.Cases) == 0 {
		return nil, fmt.Errorf("study %s: no case has a prediction %s/<case_id>.nii.gz to review (write them with `otoseg segment %s/images -o %s/%s`): %s",
			dir, PredictionsDir, dir, dir, PredictionsDir, strings.Join(s.Skipped, "; "))
	}
	return s, nil
}

// readQC reads the QC verdict of each ear from the case's sidecar
// predictions/<id>.json, which otoseg segment writes next to the label
// map; nil without a sidecar. The path is confined like every other.
func (s *Study) readQC(id string) ([]EarQC, error) {
	p, err := s.Confine(filepath.Join(s.Dir, PredictionsDir, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ears, err := qc.ReadSidecar(p)
	if err != nil {
		return nil, err
	}
	var out []EarQC
	for _, e := range ears {
		if e.QC == nil {
			continue
		}
		if e.QC.Score < 0 || e.QC.Score > 1 || (e.QC.Flag != qc.OK && e.QC.Flag != qc.Review) {
			return nil, fmt.Errorf("%s: ear %s: score %g, flag %q: want a score in [0, 1] and flag %q or %q", p, e.Side, e.QC.Score, e.QC.Flag, qc.OK, qc.Review)
		}
		r := *e.QC
		if r.Reasons == nil {
			r.Reasons = []string{}
		}
		out = append(out, EarQC{Side: e.Side, Result: r})
	}
	return out, nil
}

// Case returns the case with the given id. Ids that are not in the manifest
// (including anything that is not a safe file name) are not found.
func (s *Study) Case(id string) (Case, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Case{}, false
	}
	return s.Cases[i], true
}

// IDs lists the reviewable case ids in manifest order.
func (s *Study) IDs() []string {
	ids := make([]string, len(s.Cases))
	for i, c := range s.Cases {
		ids[i] = c.ID
	}
	return ids
}

// BlindingWarnings lists cases whose id names their centre (as a part of
// the id between '_', '-' or '.', or as a substring when the centre's name
// has 3 or more characters). Readers never see case ids (the API names
// cases to them by opaque keys and refuses ids), but the server log, the
// exports and anyone who relays an id to a reader would tell where a scan
// came from.
func (s *Study) BlindingWarnings() []string {
	var w []string
	for _, c := range s.Cases {
		id, centre := strings.ToLower(c.ID), strings.ToLower(c.Center)
		if centre == "" {
			continue
		}
		named := len(centre) >= 3 && strings.Contains(id, centre)
		for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
			named = named || part == centre
		}
		if named {
			w = append(w, fmt.Sprintf("case id %q contains its centre %q: readers see only opaque keys, but do not pass case ids on to them (the log and the exports show them)", c.ID, c.Center))
		}
	}
	return w
}

// Confine resolves p (absolute, or relative to the working directory as the
// manifest reader returns it) and returns its absolute path if the file
// exists inside the study folder, following symbolic links. It is called at
// start-up and again before each read, so a link swapped in later is caught.
func (s *Study) Confine(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if !within(s.Dir, abs) {
		return "", fmt.Errorf("%s is outside the study folder %s", p, s.Dir)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	if !within(s.Dir, real) {
		return "", fmt.Errorf("%s links to %s, outside the study folder %s", p, real, s.Dir)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	return real, nil
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
