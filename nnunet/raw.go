package nnunet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// nnU-Net's raw dataset layout (documentation/dataset_format.md):
//
//	DatasetNNN_Name/dataset.json
//	DatasetNNN_Name/imagesTr/<case>_0000<file_ending>   channel 0 of each training case
//	DatasetNNN_Name/labelsTr/<case><file_ending>        its labels
//	DatasetNNN_Name/imagesTs/<case>_0000<file_ending>   test cases (optional)
//	DatasetNNN_Name/labelsTs/<case><file_ending>        their labels (optional, a common addition)
const (
	imagesTr = "imagesTr"
	labelsTr = "labelsTr"
	imagesTs = "imagesTs"
	labelsTs = "labelsTs"
)

var datasetDirName = regexp.MustCompile(`^Dataset[0-9]{3}_[A-Za-z0-9][A-Za-z0-9_-]*$`)

// RawCase is one case of a raw dataset.
type RawCase struct {
	ID    string
	Image string // channel 0
	Label string // empty when the case has none
	Test  bool   // from imagesTs
}

// ReadRaw lists a raw dataset's cases after checking dataset.json and the
// file names: one channel, every training image with its label, no label
// without an image.
func ReadRaw(dir string) (*DatasetJSON, []RawCase, error) {
	ds, err := ReadDatasetJSON(filepath.Join(dir, "dataset.json"))
	if err != nil {
		return nil, nil, err
	}
	if len(ds.Channels) != 1 {
		return nil, nil, fmt.Errorf("%s: %d channels %v; otoseg reads one CT channel", filepath.Join(dir, "dataset.json"), len(ds.Channels), ds.Channels)
	}
	var cases []RawCase
	for _, sub := range [][2]string{{imagesTr, labelsTr}, {imagesTs, labelsTs}} {
		cs, err := listCases(dir, sub[0], sub[1], ds.FileEnding, sub[0] == imagesTs)
		if err != nil {
			return nil, nil, err
		}
		cases = append(cases, cs...)
	}
	ntr := 0
	for _, c := range cases {
		if !c.Test {
			ntr++
		}
	}
	if ntr != ds.NumTraining {
		return nil, nil, fmt.Errorf("%s: numTraining is %d but %s holds %d cases", filepath.Join(dir, "dataset.json"), ds.NumTraining, imagesTr, ntr)
	}
	return ds, cases, nil
}

func listCases(dir, images, labels, ending string, optional bool) ([]RawCase, error) {
	ents, err := os.ReadDir(filepath.Join(dir, images))
	if errors.Is(err, os.ErrNotExist) && optional {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cases []RawCase
	ids := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		stem, ok := strings.CutSuffix(name, ending)
		if !ok {
			return nil, fmt.Errorf("%s: file ending is not %s (dataset.json's file_ending)", filepath.Join(dir, images, name), ending)
		}
		i := strings.LastIndex(stem, "_")
		if i <= 0 || len(stem)-i != 5 {
			return nil, fmt.Errorf("%s: want <case>_0000%s (a four-digit channel suffix)", filepath.Join(dir, images, name), ending)
		}
		id, ch := stem[:i], stem[i+1:]
		if _, err := strconv.Atoi(ch); err != nil || ch != "0000" {
			return nil, fmt.Errorf("%s: channel %s; the dataset has only channel 0000", filepath.Join(dir, images, name), ch)
		}
		if !dataset.ValidCaseID(id) {
			return nil, fmt.Errorf("%s: case name %q is not a safe file name", filepath.Join(dir, images, name), id)
		}
		c := RawCase{ID: id, Image: filepath.Join(dir, images, name), Test: optional}
		lab := filepath.Join(dir, labels, id+ending)
		if _, err := os.Stat(lab); err == nil {
			c.Label = lab
		} else if !optional {
			return nil, fmt.Errorf("%s has no label %s", c.Image, lab)
		}
		ids[id] = true
		cases = append(cases, c)
	}
	if lents, err := os.ReadDir(filepath.Join(dir, labels)); err == nil {
		for _, e := range lents {
			if id, ok := strings.CutSuffix(e.Name(), ending); ok && !ids[id] {
				return nil, fmt.Errorf("%s has no image %s_0000%s", filepath.Join(dir, labels, e.Name()), filepath.Join(dir, images, id), ending)
			}
		}
	}
	return cases, nil
}

// ParseLabelMap reads --labels: "1=cochlea,2=vestibule,3=semicircular canals"
// maps the dataset's value 1 to otoseg's cochlea and so on; values not
// listed become background.
func ParseLabelMap(s string) (map[int]int, error) {
	byName := map[string]int{}
	for v, n := range ear.Names() {
		byName[normName(n)] = v
	}
	out := map[int]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		src, err := strconv.Atoi(strings.TrimSpace(k))
		if !ok || err != nil || src < 1 || src > 255 {
			return nil, fmt.Errorf("--labels %q: want VALUE=NAME pairs such as 1=cochlea", s)
		}
		dst, ok := byName[normName(v)]
		if !ok {
			return nil, fmt.Errorf("--labels: %q is not one of otoseg's labels (cochlea, vestibule, semicircular canals)", strings.TrimSpace(v))
		}
		out[src] = dst
	}
	return out, nil
}

func normName(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' || r == '-' }), " "))
}

// labelMapByName maps dataset.json's labels onto otoseg's by name
// (cochlea, vestibule, semicircular canals; case, '_' and '-' ignored).
func labelMapByName(ds *DatasetJSON) (map[int]int, error) {
	out := map[int]int{}
	for v, n := range ds.Labels[1:] {
		found := false
		for ov, on := range ear.Names() {
			if normName(on) == normName(n) {
				out[v+1], found = ov, true
			}
		}
		if !found {
			return nil, fmt.Errorf("dataset.json label %d %q is not one of otoseg's (cochlea, vestibule, semicircular canals): give --labels VALUE=NAME,...", v+1, n)
		}
	}
	return out, nil
}

// ImportRaw writes a manifest for a raw nnU-Net dataset so that otoseg's
// train, evaluate and review take it as it is. Training cases get split
// train, imagesTs cases split external. When the label values differ from
// otoseg's (labels maps dataset values to otoseg's; nil maps by name),
// remapped label maps are written beside the manifest in labels-otoseg/;
// the dataset itself is never written.
func ImportRaw(dir, manifestPath string, labels map[int]int) (int, error) {
	// Absolute paths, so that the manifest can point into the dataset from
	// wherever it is written (dataset.Write makes them relative when inside).
	dir, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	if manifestPath, err = filepath.Abs(manifestPath); err != nil {
		return 0, err
	}
	if rel, err := filepath.Rel(dir, manifestPath); err == nil && !strings.HasPrefix(rel, "..") {
		return 0, fmt.Errorf("manifest %s lies inside the dataset %s; write it outside (import never changes the dataset)", manifestPath, dir)
	}
	ds, cases, err := ReadRaw(dir)
	if err != nil {
		return 0, err
	}
	if labels == nil {
		if labels, err = labelMapByName(ds); err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Join(dir, "dataset.json"), err)
		}
	}
	identity := true
	for k, v := range labels {
		identity = identity && k == v
	}
	identity = identity && len(labels) == len(ds.Labels)-1
	outDir := filepath.Join(filepath.Dir(manifestPath), "labels-otoseg")
	center := strings.TrimPrefix(filepath.Base(filepath.Clean(dir)), "Dataset")
	var rows []dataset.Case
	for _, c := range cases {
		row := dataset.Case{ID: c.ID, Image: c.Image, Label: c.Label, Center: center, Split: dataset.SplitTrain,
			Subgroup: dataset.SubgroupNormal, Pathology: "unknown"}
		if c.Test {
			row.Split = dataset.SplitExternal
		}
		if c.Label != "" && !identity {
			if row.Label, err = remapLabels(c.Label, filepath.Join(outDir, c.ID+".nii.gz"), labels); err != nil {
				return 0, err
			}
		}
		rows = append(rows, row)
	}
	if err := os.MkdirAll(filepath.Dir(manifestPath), 0o755); err != nil {
		return 0, err
	}
	if err := dataset.Write(manifestPath, rows, nil); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// remapLabels writes src's labels with values mapped (others to 0).
func remapLabels(src, dst string, m map[int]int) (string, error) {
	v, err := imageio.Read(src)
	if err != nil {
		return "", err
	}
	for i, x := range v.Data {
		v.Data[i] = float32(m[int(x)])
	}
	v.DType = volume.Uint8
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	return dst, imageio.Write(dst, v)
}

// ExportRaw writes the manifest's cases as nnU-Net raw dataset out
// (DatasetNNN_Name): train and validation cases with labels in imagesTr /
// labelsTr, external ones in imagesTs (labelsTs when labelled), NIfTI, the
// label values otoseg's. out must not exist; it appears complete or not at
// all, checked with CheckRaw.
func ExportRaw(m *dataset.Manifest, out string) (int, error) {
	if !datasetDirName.MatchString(filepath.Base(out)) {
		return 0, fmt.Errorf("%s: nnU-Net wants a folder named DatasetNNN_Name (three digits)", out)
	}
	if _, err := os.Stat(out); err == nil {
		return 0, fmt.Errorf("%s already exists", out)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".export-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	ntr := 0
	for _, c := range m.Cases {
		imgDir, labDir := imagesTr, labelsTr
		if c.Split == dataset.SplitExternal || c.Label == "" {
			imgDir, labDir = imagesTs, labelsTs
		} else {
			ntr++
		}
		if err := exportFile(c.Image, filepath.Join(tmp, imgDir, c.ID+"_0000.nii.gz"), false); err != nil {
			return 0, fmt.Errorf("case %s: %w", c.ID, err)
		}
		if c.Label != "" {
			if err := exportFile(c.Label, filepath.Join(tmp, labDir, c.ID+".nii.gz"), true); err != nil {
				return 0, fmt.Errorf("case %s: %w", c.ID, err)
			}
		}
	}
	if ntr == 0 {
		return 0, errors.New("no labelled train or validation case: nothing for imagesTr")
	}
	ds := &DatasetJSON{Channels: []string{"CT"}, Labels: []string{"background"}, NumTraining: ntr, FileEnding: ".nii.gz",
		Name: filepath.Base(out), Description: "exported by otoseg dataset export-nnunet from " + m.Path}
	for v := 1; v <= len(ear.Names()); v++ {
		ds.Labels = append(ds.Labels, strings.ReplaceAll(ear.Names()[v], " ", "_"))
	}
	b, err := ds.Marshal()
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "dataset.json"), b, 0o644); err != nil {
		return 0, err
	}
	if err := CheckRaw(tmp); err != nil {
		return 0, fmt.Errorf("exported dataset fails its check: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	return len(m.Cases), nil
}

// exportFile copies a .nii.gz as it is and converts anything else to NIfTI.
func exportFile(src, dst string, label bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if strings.HasSuffix(src, ".nii.gz") {
		return copyFile(src, dst)
	}
	v, err := imageio.Read(src)
	if err != nil {
		return err
	}
	if label {
		v.DType = volume.Uint8
	}
	return imageio.Write(dst, v)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	return out.Close()
}

// CheckRaw checks a raw dataset as nnU-Net's verify_dataset_integrity
// would for one channel: dataset.json by the documented rules, the file
// names and pairs (ReadRaw), each label map on its image's grid with only
// the values dataset.json declares.
func CheckRaw(dir string) error {
	ds, cases, err := ReadRaw(dir)
	if err != nil {
		return err
	}
	for _, c := range cases {
		if c.Label == "" {
			continue
		}
		img, err := imageio.Read(c.Image)
		if err != nil {
			return err
		}
		lab, err := imageio.Read(c.Label)
		if err != nil {
			return err
		}
		if !img.SameGrid(lab.Geometry, 1e-4) {
			return fmt.Errorf("%s is not on the grid of %s", c.Label, c.Image)
		}
		for _, v := range lab.Data {
			if v != float32(int(v)) || v < 0 || int(v) >= len(ds.Labels) {
				return fmt.Errorf("%s holds value %g; dataset.json declares 0..%d", c.Label, v, len(ds.Labels)-1)
			}
		}
	}
	if len(cases) == 0 {
		return errors.New("no cases")
	}
	return nil
}
