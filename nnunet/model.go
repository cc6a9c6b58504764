package nnunet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/unet"
)

// Files of an imported model folder. The folder is otoseg's, not nnU-Net's:
// a description (ModelFile), one safetensors weights file per fold (the
// same format as otoseg's own networks), the source plans.json and
// dataset.json kept verbatim, and a model card.
const (
	ModelFile  = "nnunet.json"
	CardFile   = "MODEL_CARD.md"
	SourceDir  = "nnunet-source"
	modelMagic = "otoseg-nnunet/1"
)

// Label is one output class.
type Label struct {
	Value int    `json:"value"`
	Name  string `json:"name"`
}

// SourceFile is one imported file and its SHA-256.
type SourceFile struct {
	Path   string `json:"path"` // relative to the results folder
	SHA256 string `json:"sha256"`
}

// Model describes an imported nnU-Net model (ModelFile).
type Model struct {
	Format     string  `json:"format"`
	Plan       Plan    `json:"plan"`
	Labels     []Label `json:"labels"`
	Folds      []int   `json:"folds"`
	MirrorAxes []int   `json:"mirror_axes"`
	Trainer    string  `json:"trainer"`
	// SourceDir is the results folder it was imported from, as given.
	SourceDir   string       `json:"source_dir"`
	SourceFiles []SourceFile `json:"source_files"`
	// SourceSHA256 identifies the imported folder as a whole: the SHA-256
	// of the lines "<sha256>  <path>" of SourceFiles, sorted by path (what
	// sha256sum prints for those files, sorted).
	SourceSHA256 string `json:"source_sha256"`
}

// folderSum is SourceSHA256 for files.
func folderSum(files []SourceFile) string {
	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = f.SHA256 + "  " + f.Path + "\n"
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	h := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(h[:])
}

// Loaded is an imported model with its networks, one per fold.
type Loaded struct {
	Model
	Dir string
	// Nets hold each fold's weights; they never run (see runner).
	Nets []*unet.UNet
	run  *unet.UNet
}

// runner is the network predictions run on, fold weights copied in.
func (l *Loaded) runner() (*unet.UNet, error) {
	if l.run == nil {
		u, err := unet.New(l.Plan.Net)
		if err != nil {
			return nil, err
		}
		l.run = u
	}
	return l.run, nil
}

// IsModelDir reports whether dir holds an imported nnU-Net model.
func IsModelDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ModelFile))
	return err == nil && st.Mode().IsRegular()
}

func foldFile(f int) string { return fmt.Sprintf("fold_%d.safetensors", f) }

// configFromDir reads the configuration from a trainer folder's name
// (nnUNetTrainer__nnUNetPlans__3d_fullres).
func configFromDir(dir string) string {
	parts := strings.Split(filepath.Base(filepath.Clean(dir)), "__")
	if len(parts) == 3 && parts[2] != "" {
		return parts[2]
	}
	return "3d_fullres"
}

// listFolds returns the fold numbers with a checkpoint_final.pth.
func listFolds(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var folds []int
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), "fold_")
		if !ok || !e.IsDir() {
			continue
		}
		f, err := strconv.Atoi(n)
		if err != nil || f < 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "checkpoint_final.pth")); err == nil {
			folds = append(folds, f)
		}
	}
	slices.Sort(folds)
	if len(folds) == 0 {
		return nil, fmt.Errorf("%s: no fold_N/checkpoint_final.pth (training not finished?)", dir)
	}
	return folds, nil
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Import reads an nnU-Net v2 trained-model folder (the trainer folder,
// RESULTS/DatasetXXX/Trainer__Plans__Configuration) and writes an otoseg
// model folder at out: all folds when folds is nil. out must not exist; it
// appears complete or not at all.
func Import(results, out string, folds []int) (*Model, error) {
	if err := checkOutside(results, out); err != nil {
		return nil, err
	}
	if _, err := os.Stat(out); err == nil {
		return nil, fmt.Errorf("%s already exists; choose a new folder", out)
	}
	cfgName := configFromDir(results)
	plan, err := ReadPlan(filepath.Join(results, "plans.json"), cfgName)
	if err != nil {
		return nil, err
	}
	ds, err := ReadDatasetJSON(filepath.Join(results, "dataset.json"))
	if err != nil {
		return nil, err
	}
	if len(ds.Channels) != 1 {
		return nil, fmt.Errorf("%s: %d input channels; otoseg takes one CT channel", filepath.Join(results, "dataset.json"), len(ds.Channels))
	}
	plan.Net.NumClasses = len(ds.Labels)
	if folds == nil {
		if folds, err = listFolds(results); err != nil {
			return nil, err
		}
	}
	m := &Model{Format: modelMagic, Plan: *plan, Folds: folds, SourceDir: results}
	for v, n := range ds.Labels {
		m.Labels = append(m.Labels, Label{v, n})
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".import-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left to remove
	if err := m.importFolds(results, tmp); err != nil {
		return nil, err
	}
	if err := m.writeFiles(results, tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return m, nil
}

// checkOutside refuses an output folder inside (or equal to) the input.
func checkOutside(results, out string) error {
	ra, err1 := filepath.Abs(results)
	oa, err2 := filepath.Abs(out)
	if err1 != nil || err2 != nil {
		return errors.Join(err1, err2)
	}
	if rel, err := filepath.Rel(ra, oa); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("output %s lies inside the nnU-Net folder %s; write it elsewhere", out, results)
	}
	return nil
}

func (m *Model) importFolds(results, tmp string) error {
	for i, f := range m.Folds {
		rel := filepath.Join(fmt.Sprintf("fold_%d", f), "checkpoint_final.pth")
		path := filepath.Join(results, rel)
		ck, err := ReadCheckpoint(path)
		if err != nil {
			return err
		}
		net, err := BuildNetwork(m.Plan.Net, ck)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		axes := ck.MirrorAxes
		if axes == nil {
			axes = []int{} // absent or None: nnU-Net's predictor does not mirror
		}
		if i == 0 {
			m.MirrorAxes, m.Trainer = axes, ck.TrainerName
		} else if !slices.Equal(axes, m.MirrorAxes) {
			return fmt.Errorf("%s: mirroring axes %v differ from fold %d's %v", path, axes, m.Folds[0], m.MirrorAxes)
		}
		sum, err := sha256File(path)
		if err != nil {
			return err
		}
		m.SourceFiles = append(m.SourceFiles, SourceFile{filepath.ToSlash(rel), sum})
		meta := map[string]string{"source": "nnU-Net v2 " + ck.TrainerName + " " + filepath.ToSlash(rel), "source_sha256": sum}
		if err := net.Save(filepath.Join(tmp, foldFile(f)), meta); err != nil {
			return err
		}
	}
	return nil
}

func (m *Model) writeFiles(results, tmp string) error {
	if err := os.Mkdir(filepath.Join(tmp, SourceDir), 0o755); err != nil {
		return err
	}
	for _, name := range []string{"plans.json", "dataset.json"} {
		b, err := readLimited(filepath.Join(results, name), maxPlansBytes)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, SourceDir, name), b, 0o644); err != nil {
			return err
		}
		s := sha256.Sum256(b)
		m.SourceFiles = append(m.SourceFiles, SourceFile{name, hex.EncodeToString(s[:])})
	}
	m.SourceSHA256 = folderSum(m.SourceFiles)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ModelFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, CardFile), []byte(m.card()), 0o644); err != nil {
		return err
	}
	return os.Chmod(tmp, 0o755)
}

// card is the model card: what the model is, where it came from, and what
// otoseg checked.
func (m *Model) card() string {
	var b strings.Builder
	p := m.Plan
	fmt.Fprintf(&b, "# %s (imported from nnU-Net)\n\n", p.DatasetName)
	fmt.Fprintf(&b, "An nnU-Net v2 model (%s, %s, configuration %s), imported by `otoseg model import-nnunet`.\n", m.Trainer, p.PlansName, p.Configuration)
	b.WriteString("It was trained outside otoseg: its accuracy is whatever it was in nnU-Net, on that training data.\n\n")
	b.WriteString("## Provenance\n\n")
	fmt.Fprintf(&b, "- source folder: `%s`, SHA-256 %s (over the files below: `sha256sum` lines sorted by path, hashed)\n", m.SourceDir, m.SourceSHA256)
	fmt.Fprintf(&b, "- folds: %v (predictions average their logits, as nnU-Net does)\n", m.Folds)
	b.WriteString("- source files (SHA-256):\n")
	for _, f := range m.SourceFiles {
		fmt.Fprintf(&b, "  - `%s` %s\n", f.Path, f.SHA256)
	}
	b.WriteString("\n## Labels\n\n")
	for _, l := range m.Labels {
		fmt.Fprintf(&b, "- %d: %s\n", l.Value, l.Name)
	}
	b.WriteString("\n## Network and preprocessing\n\n")
	fmt.Fprintf(&b, "- PlainConvUNet, features %v, %d convolutions per stage, kernels %v, strides %v\n", p.Net.Features, p.Net.ConvsPerStage, p.Net.Kernels, p.Net.Strides)
	fmt.Fprintf(&b, "- patch %v voxels (z y x) at spacing %v mm\n", p.PatchSize, p.Spacing)
	fmt.Fprintf(&b, "- CT normalisation: clip to [%g, %g] HU, subtract %g, divide by %g\n", p.Intensity.Lower, p.Intensity.Upper, p.Intensity.Mean, p.Intensity.Std)
	fmt.Fprintf(&b, "- mirroring axes at inference: %v\n", m.MirrorAxes)
	b.WriteString("\nWeights: `fold_N.safetensors` (otoseg's format, PyTorch parameter names); the source\n")
	fmt.Fprintf(&b, "plans.json and dataset.json are kept in `%s/`.\n", SourceDir)
	return b.String()
}

// Load reads an imported model folder and builds its networks.
func Load(dir string) (*Loaded, error) {
	b, err := readLimited(filepath.Join(dir, ModelFile), maxPlansBytes)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %s: %s: %w", dir, ModelFile, err)
	}
	if m.Format != modelMagic {
		return nil, fmt.Errorf("model %s: %s format %q, this otoseg reads %q", dir, ModelFile, m.Format, modelMagic)
	}
	if m.Plan.Transpose != nil {
		if err := checkPerm(m.Plan.Transpose); err != nil {
			return nil, fmt.Errorf("model %s: %s transpose_forward %v: %w", dir, ModelFile, m.Plan.Transpose, err)
		}
	}
	if len(m.Folds) == 0 || len(m.Labels) != m.Plan.Net.NumClasses {
		return nil, fmt.Errorf("model %s: %s lists %d folds and %d labels for %d classes", dir, ModelFile, len(m.Folds), len(m.Labels), m.Plan.Net.NumClasses)
	}
	l := &Loaded{Model: m, Dir: dir}
	want := m.Plan.Net.MarshalConfig()
	for _, f := range m.Folds {
		net, _, err := unet.Load(filepath.Join(dir, foldFile(f)))
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", dir, err)
		}
		if got := net.Config().MarshalConfig(); got != want {
			return nil, fmt.Errorf("model %s: %s holds network %s, %s says %s", dir, foldFile(f), got, ModelFile, want)
		}
		l.Nets = append(l.Nets, net)
	}
	return l, nil
}
