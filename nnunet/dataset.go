package nnunet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DatasetJSON is nnU-Net v2's dataset.json: channel names, labels, the
// number of training cases and the image file ending.
type DatasetJSON struct {
	// Channels are the channel names by index ("0": "CT").
	Channels []string
	// Labels are the label names by value: Labels[v] names value v; nnU-Net
	// requires background 0 and consecutive values.
	Labels      []string
	NumTraining int
	FileEnding  string
	// Name and Description are free text, kept when present.
	Name, Description string
}

// ReadDatasetJSON reads and checks a dataset.json.
func ReadDatasetJSON(name string) (*DatasetJSON, error) {
	b, err := readLimited(name, maxPlansBytes)
	if err != nil {
		return nil, err
	}
	d, err := ParseDatasetJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", name, st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// ParseDatasetJSON checks dataset.json against nnU-Net v2's documented
// rules (documentation/dataset_format.md): channel_names keyed 0..n-1,
// labels with background 0 and consecutive integer values, numTraining,
// file_ending. Region-based labels (lists of values) are refused: otoseg's
// models predict one label per voxel.
func ParseDatasetJSON(b []byte) (*DatasetJSON, error) {
	var raw struct {
		Channels    map[string]string          `json:"channel_names"`
		Modality    map[string]string          `json:"modality"`
		Labels      map[string]json.RawMessage `json:"labels"`
		NumTraining *int                       `json:"numTraining"`
		FileEnding  string                     `json:"file_ending"`
		Regions     json.RawMessage            `json:"regions_class_order"`
		Name        string                     `json:"name"`
		Description string                     `json:"description"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	if raw.Channels == nil && raw.Modality != nil {
		return nil, errors.New("has \"modality\" but no \"channel_names\": an nnU-Net v1 dataset.json (convert it with nnUNetv2_convert_old_nnUNet_dataset)")
	}
	d := &DatasetJSON{FileEnding: raw.FileEnding, Name: raw.Name, Description: raw.Description}
	var err error
	if d.Channels, err = indexed(raw.Channels, "channel_names"); err != nil {
		return nil, err
	}
	if len(raw.Regions) > 0 && string(raw.Regions) != "null" {
		return nil, errors.New("region-based labels (regions_class_order): otoseg predicts one label per voxel")
	}
	if len(raw.Labels) < 2 || len(raw.Labels) > 256 {
		return nil, fmt.Errorf("%d labels, want 2..256 (background and at least one structure)", len(raw.Labels))
	}
	d.Labels = make([]string, len(raw.Labels))
	for name, rv := range raw.Labels {
		var v int
		if err := json.Unmarshal(rv, &v); err != nil {
			return nil, fmt.Errorf("label %q is %s, not an integer (region-based labels are not supported)", name, rv)
		}
		if v < 0 || v >= len(raw.Labels) || d.Labels[v] != "" {
			return nil, fmt.Errorf("label values must be 0..%d, each once; %q is %d", len(raw.Labels)-1, name, v)
		}
		d.Labels[v] = name
	}
	if d.Labels[0] != "background" {
		return nil, fmt.Errorf("label 0 is %q; nnU-Net requires \"background\": 0", d.Labels[0])
	}
	if raw.NumTraining == nil || *raw.NumTraining < 0 {
		return nil, errors.New("numTraining missing or negative")
	}
	d.NumTraining = *raw.NumTraining
	if !strings.HasPrefix(d.FileEnding, ".") || strings.ContainsAny(d.FileEnding, "/\\") {
		return nil, fmt.Errorf("file_ending %q: want an extension such as \".nii.gz\"", d.FileEnding)
	}
	return d, nil
}

// indexed turns {"0": a, "1": b} into [a, b], requiring keys 0..n-1.
func indexed(m map[string]string, what string) ([]string, error) {
	if len(m) == 0 || len(m) > 64 {
		return nil, fmt.Errorf("%s: want 1..64 entries, have %d", what, len(m))
	}
	out := make([]string, len(m))
	for k, v := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) || out[i] != "" || strconv.Itoa(i) != k {
			return nil, fmt.Errorf("%s: keys must be \"0\"..\"%d\", each once; got %q", what, len(m)-1, k)
		}
		if v == "" {
			return nil, fmt.Errorf("%s[%s] is empty", what, k)
		}
		out[i] = v
	}
	return out, nil
}

// Marshal writes the dataset.json nnU-Net reads, keys in a stable order.
func (d *DatasetJSON) Marshal() ([]byte, error) {
	type kv struct {
		k string
		v any
	}
	ch := make([]kv, len(d.Channels))
	for i, c := range d.Channels {
		ch[i] = kv{strconv.Itoa(i), c}
	}
	lb := make([]kv, len(d.Labels))
	for v, n := range d.Labels {
		lb[v] = kv{n, v}
	}
	obj := func(items []kv) string {
		parts := make([]string, len(items))
		for i, it := range items {
			k, _ := json.Marshal(it.k)
			v, _ := json.Marshal(it.v)
			parts[i] = fmt.Sprintf("        %s: %s", k, v)
		}
		return "{\n" + strings.Join(parts, ",\n") + "\n    }"
	}
	top := []string{
		`    "channel_names": ` + obj(ch),
		`    "labels": ` + obj(lb),
		fmt.Sprintf(`    "numTraining": %d`, d.NumTraining),
	}
	fe, _ := json.Marshal(d.FileEnding)
	top = append(top, `    "file_ending": `+string(fe))
	for _, f := range []struct{ k, v string }{{"name", d.Name}, {"description", d.Description}} {
		if f.v != "" {
			v, _ := json.Marshal(f.v)
			top = append(top, fmt.Sprintf("    %q: %s", f.k, v))
		}
	}
	out := []byte("{\n" + strings.Join(top, ",\n") + "\n}\n")
	if _, err := ParseDatasetJSON(out); err != nil {
		return nil, fmt.Errorf("dataset.json would be invalid: %w", err)
	}
	return out, nil
}
