package evaluate

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/volume"
)

// worstEars is how many of the lowest-Dice ears the report pictures.
const worstEars = 6

// worstEar is one pictured ear: its labyrinth row and agreement map.
type worstEar struct {
	row CaseRow
	png []byte
	// noCT says why the CT is not under the map ("" when it is).
	noCT string
}

// drawWorst pictures the worstEars ears with the lowest labyrinth Dice
// (ties in row order). Their cases are read a second time, with the CT:
// reading every CT during the evaluation would double its I/O for six
// pictures. A CT that cannot be read, or a case without an image, gives a
// picture on a plain background and says why; a label map that can no
// longer be read is an error, as in the evaluation.
func (res *Result) drawWorst(ctx context.Context, cfg Config, preds map[string]string) error {
	var rows []CaseRow
	for _, r := range res.Rows {
		if r.Ear != metrics.EarBoth && r.Structure == "labyrinth" && !math.IsNaN(r.Dice) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b CaseRow) int { return cmp.Compare(a.Dice, b.Dice) })
	rows = rows[:min(worstEars, len(rows))]
	split := map[string]metrics.Ears{}
	for _, e := range res.Ears {
		split[e.CaseID] = e.split
	}
	// Read each case once (both ears of a case may be among the worst),
	// keeping only its volumes in memory, and fill the slots in Dice order.
	byCase := map[string][]int{}
	var order []string
	for i, r := range rows {
		if byCase[r.Case.ID] == nil {
			order = append(order, r.Case.ID)
		}
		byCase[r.Case.ID] = append(byCase[r.Case.ID], i)
	}
	res.worst = make([]worstEar, len(rows))
	for _, id := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := rows[byCase[id][0]].Case
		ref, pred, err := readPair(cfg, c, preds[id])
		if err != nil {
			return fmt.Errorf("picture: %w", err)
		}
		ct, noCT := readCT(cfg, c)
		for _, i := range byCase[id] {
			b, err := earPicture(ct, ref, pred, split[id], rows[i].Ear)
			if err != nil {
				return fmt.Errorf("picture of case %s, %s ear: %w", id, rows[i].Ear, err)
			}
			res.worst[i] = worstEar{row: rows[i], png: b, noCT: noCT}
		}
	}
	return nil
}

// readCT reads the case's CT for its pictures, or says why there is none.
func readCT(cfg Config, c dataset.Case) (*volume.Volume, string) {
	if c.Image == "" {
		return nil, "no image in the manifest"
	}
	ct, err := cfg.Read(c.Image)
	if err != nil {
		return nil, "CT not read: " + err.Error()
	}
	return ct, ""
}
