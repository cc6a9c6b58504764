package evaluate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/metrics"
)

// CSVColumns are the columns of cases.csv, in order.
var CSVColumns = []string{
	"case_id", "ear", "structure", "status",
	"dice", "iou", "sensitivity", "precision",
	"hd_mm", "hd95_mm", "assd_mm", "nsd", "nsd_tolerance_mm",
	"volume_ref_mm3", "volume_pred_mm3", "avd_mm3", "rvd",
	"ref_voxels", "pred_voxels", "intersection_voxels", "ref_surface_voxels", "pred_surface_voxels",
	"center", "split", "subgroup", "pathology",
	// Appended last (issue 13) so that scripts reading columns by position
	// keep working: the stray pieces of the prediction (metrics.Result).
	"stray_mm", "stray_pieces", "stray_voxels", "stray_mm3",
}

// num formats a metric with full precision; NaN (undefined) is "NA".
func num(x float64) string {
	if math.IsNaN(x) {
		return "NA"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// strayCount formats a stray piece or voxel count: NA where the stray
// distance is undefined (an empty mask), where metrics leaves the count 0
// because there is nothing to count against.
func strayCount(r metrics.Result, n int) string {
	if math.IsNaN(r.StrayMM) {
		return "NA"
	}
	return strconv.Itoa(n)
}

// CasesCSV renders cases.csv.
func CasesCSV(rows []CaseRow) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(CSVColumns); err != nil {
		return nil, err
	}
	for _, r := range rows {
		rec := []string{r.Case.ID, r.Ear, r.Structure, string(r.Status),
			num(r.Dice), num(r.IoU), num(r.Sensitivity), num(r.Precision),
			num(r.HD), num(r.HD95), num(r.ASSD), num(r.NSD), num(r.Tolerance),
			num(r.VolumeRef), num(r.VolumePred), num(r.AVD), num(r.RVD),
			strconv.Itoa(r.RefVoxels), strconv.Itoa(r.PredVoxels), strconv.Itoa(r.Intersection),
			strconv.Itoa(r.RefSurface), strconv.Itoa(r.PredSurface),
			r.Case.Center, r.Case.Split, r.Case.Subgroup, r.Case.Pathology,
			num(r.StrayMM), strayCount(r.Result, r.StrayPieces), strayCount(r.Result, r.StrayVoxels), num(r.StrayVolume)}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// writeOutputs renders everything in memory first, then writes each file
// atomically, report.html last, so a failed render leaves no partial report.
func writeOutputs(dir string, res *Result) error {
	csvData, err := CasesCSV(res.Rows)
	if err != nil {
		return fmt.Errorf("cases.csv: %w", err)
	}
	js, err := json.MarshalIndent(res.Summary, "", " ")
	if err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	js = append(js, '\n')
	figs, err := figures(res)
	if err != nil {
		return err
	}
	html, err := renderHTML(res, figs)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{{"cases.csv", csvData}, {"summary.json", js}}
	for _, f := range figs {
		files = append(files, struct {
			name string
			data []byte
		}{f.Name + ".png", f.PNG}, struct {
			name string
			data []byte
		}{f.Name + ".svg", f.SVG})
	}
	files = append(files, struct {
		name string
		data []byte
	}{"report.html", html})
	for _, f := range files {
		if err := atomicfile.WriteBytes(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
