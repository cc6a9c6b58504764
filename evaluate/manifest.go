package evaluate

import (
	"fmt"

	"github.com/otoseg/otoseg/phantom"

	"github.com/otoseg/otoseg/dataset"
)

// caseMeta is what the report knows about a case beyond the manifest's
// fixed columns: the scanner and whether its manual time is simulated.
type caseMeta struct {
	Scanner         string
	ManualSimulated bool
}

// maxMetaBytes caps a phantom meta JSON read for the report.
const maxMetaBytes = 8 << 20

// readCaseMeta collects each case's caseMeta from the manifest's
// manual_seconds_simulated and scanner columns and, where there is a meta
// column, from the phantom's meta JSON (manual_seconds_simulated,
// centre.protocol). A manifest that names a meta file that cannot be read
// is an error: the report would otherwise present simulated manual times
// as measured ones.
func readCaseMeta(m *dataset.Manifest) (map[string]caseMeta, error) {
	out := map[string]caseMeta{}
	for _, c := range m.Cases {
		var cm caseMeta
		cm.Scanner = c.Extra["scanner"]
		if s := c.Extra["manual_seconds_simulated"]; s != "" {
			v, err := dataset.ParseYesNo(s)
			if err != nil {
				return nil, fmt.Errorf("manifest %s: case %s: manual_seconds_simulated: %w", m.Path, c.ID, err)
			}
			cm.ManualSimulated = v
		}
		if p := c.Extra["meta"]; p != "" {
			pm, err := phantom.ReadMeta(dataset.Resolve(m.Dir, p))
			if err != nil {
				return nil, fmt.Errorf("manifest %s: case %s: meta: %w", m.Path, c.ID, err)
			}
			cm.ManualSimulated = cm.ManualSimulated || pm.ManualSecondsSimulated
			if cm.Scanner == "" {
				cm.Scanner = pm.Centre.Protocol
			}
		}
		out[c.ID] = cm
	}
	return out, nil
}
