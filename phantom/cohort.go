package phantom

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/dataset"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/volume"
)

// Bodies a cohort can hold.
const (
	BodyHead  = "head"  // temporal-bone / head CT with inner ears and labels
	BodyOther = "other" // CT of another body part, no inner ear (empty labels)
)

// CohortOptions describe a multicentre cohort.
type CohortOptions struct {
	// Cases is the number of cases (1..10000).
	Cases int
	// Seed decides everything; the same options give the same bytes.
	Seed uint64
	// Centres names the centres to draw from, in order; cases go round
	// them. Empty means all built-in centres.
	Centres []string
	// Sites, if not empty, are custom centre profiles used instead of
	// Centres (names): a study can describe its own scanners.
	Sites []Centre
	// Pathological is the fraction of cases with a pathology (0..1). The
	// pathologies cycle through Pathologies in a seeded order, so a
	// cohort of enough pathological cases holds each at least once.
	Pathological float64
	// Pathology, if set, is the pathology of every pathological case
	// instead of the cycle through all of them.
	Pathology string
	// Body is BodyHead (default) or BodyOther.
	Body string
	// VaryScanner draws each case's scanner around its centre's (see
	// Centre.Varied) instead of using the centre's protocol as it is.
	VaryScanner bool
	// Anatomy is the population the labyrinths come from ("" normal;
	// AnatomyShifted for held-out shape tests).
	Anatomy Anatomy
	// Workers bounds parallelism; 0 uses GOMAXPROCS.
	Workers int
}

// CaseSpec is one planned case of a cohort.
type CaseSpec struct {
	ID        string
	Index     int
	Centre    Centre
	Split     string
	Pathology string
	Anatomy   Anatomy
	Seed      uint64
}

// splitmix64 derives independent case seeds from the cohort seed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Plan lays out a cohort without generating it: centre, split, pathology
// and seed of every case.
func Plan(opt CohortOptions) ([]CaseSpec, error) {
	if opt.Cases < 1 || opt.Cases > 10000 {
		return nil, fmt.Errorf("cases %d, want 1..10000", opt.Cases)
	}
	if !(opt.Pathological >= 0 && opt.Pathological <= 1) {
		return nil, fmt.Errorf("pathological fraction %g, want 0..1", opt.Pathological)
	}
	switch opt.Body {
	case "", BodyHead, BodyOther:
	default:
		return nil, fmt.Errorf("body %q, want %s or %s", opt.Body, BodyHead, BodyOther)
	}
	if err := ValidPathology(opt.Pathology); err != nil {
		return nil, err
	}
	var cs []Centre
	if len(opt.Centres) == 0 && len(opt.Sites) == 0 {
		cs = append(cs, Centres...)
	}
	if err := checkSites(opt.Sites); err != nil {
		return nil, err
	}
	cs = append(cs, opt.Sites...)
	seen := map[string]bool{}
	for _, n := range opt.Centres {
		if len(opt.Sites) > 0 {
			return nil, fmt.Errorf("give centres by name or as sites, not both")
		}
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		c, err := CentreByName(n)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("centre %s listed twice", c.Name)
		}
		seen[c.Name] = true
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("no centres")
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0xc0407))
	nPath := int(math.Round(opt.Pathological * float64(opt.Cases)))
	if opt.Body == BodyOther {
		nPath = 0
	}
	isPath := make([]bool, opt.Cases)
	for _, i := range r.Perm(opt.Cases)[:nPath] {
		isPath[i] = true
	}
	order := append([]string{}, Pathologies...)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	perCentre := map[string]int{}
	specs := make([]CaseSpec, opt.Cases)
	np := 0
	for i := range specs {
		c := cs[i%len(cs)]
		j := perCentre[c.Name]
		perCentre[c.Name]++
		split := "train"
		if c.External {
			split = "external"
		} else if j%4 == 1 {
			// one case in four of each training centre validates
			split = "validation"
		}
		p := Normal
		if isPath[i] {
			p = order[np%len(order)]
			if opt.Pathology != "" && opt.Pathology != Normal {
				p = opt.Pathology
			}
			np++
		}
		seed := splitmix64(opt.Seed ^ splitmix64(uint64(i)+1))
		if opt.VaryScanner {
			c = c.Varied(seed)
		}
		specs[i] = CaseSpec{
			ID: fmt.Sprintf("c%03d_%s", i, c.Name), Index: i, Centre: c, Split: split, Pathology: p,
			Anatomy: opt.Anatomy, Seed: seed,
		}
	}
	return specs, nil
}

// Case generates one planned case.
func (s CaseSpec) Generate(ctx context.Context, body string, workers int) (img, label *volume.Volume, meta Meta, err error) {
	if body == BodyOther {
		img, label, meta, err = NonEar(NonEarConfig{Seed: s.Seed, Centre: s.Centre, Workers: workers})
	} else {
		img, label, meta, err = GenerateContext(ctx, Config{Centre: s.Centre, Seed: s.Seed, Pathology: s.Pathology, Anatomy: s.Anatomy, Workers: workers})
	}
	if err != nil {
		return nil, nil, meta, fmt.Errorf("case %s: %w", s.ID, err)
	}
	meta.CaseID, meta.Split = s.ID, s.Split
	return img, label, meta, nil
}

// Row makes the manifest row of a generated case.
func Row(meta Meta) dataset.Case {
	sub := "normal"
	if meta.Pathology != Normal {
		sub = "pathological"
	}
	return dataset.Case{
		ID: meta.CaseID, Image: "images/" + meta.CaseID + ".nii.gz", Label: "labels/" + meta.CaseID + ".nii.gz",
		Center: meta.Centre.Name, Split: meta.Split, Subgroup: sub, Pathology: meta.Pathology,
		SpacingMM: fmt.Sprintf("%.3fx%.3fx%.3f", meta.Spacing[0], meta.Spacing[1], meta.Spacing[2]),
		// Whole seconds: the simulated reading time is no more precise.
		ManualSeconds: math.Round(meta.ManualSeconds),
		Extra: map[string]string{
			"ears": meta.EarsInFOV, "severity": strconv.FormatFloat(meta.Severity, 'f', 2, 64),
			"body": meta.Body, "meta": "meta/" + meta.CaseID + ".json",
		},
	}
}

// WriteCase writes a case's image, label and JSON sidecar under dir.
func WriteCase(dir string, img, label *volume.Volume, meta Meta) error {
	for _, sub := range []string{"images", "labels", "meta"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("phantom: %w", err)
		}
	}
	if err := imageio.Write(filepath.Join(dir, "images", meta.CaseID+".nii.gz"), img); err != nil {
		return err
	}
	if err := imageio.Write(filepath.Join(dir, "labels", meta.CaseID+".nii.gz"), label); err != nil {
		return err
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("phantom: meta of %s: %w", meta.CaseID, err)
	}
	return writeAtomic(filepath.Join(dir, "meta", meta.CaseID+".json"), append(js, '\n'))
}

// ExtraColumns are the manifest columns a phantom cohort adds to
// dataset.Columns: which ears are in view, the pathology's severity, the
// body part and the meta sidecar.
var ExtraColumns = []string{"ears", "severity", "body", "meta"}

// WriteManifest writes manifest.csv under dir atomically, through
// dataset.Write.
func WriteManifest(dir string, rows []dataset.Case) error {
	return dataset.Write(filepath.Join(dir, "manifest.csv"), rows, ExtraColumns)
}

func writeAtomic(path string, data []byte) error { return atomicfile.WriteBytes(path, data) }

// Cohort generates a cohort into dir: images/, labels/, meta/ and
// manifest.csv. Cases are generated one after another, each using all
// workers, while the previous case is being written, so memory holds at
// most two cases. progress, if not nil, is called after each case is
// written. The output is the same for any number of workers.
func Cohort(ctx context.Context, dir string, opt CohortOptions, progress func(done, total int)) ([]dataset.Case, error) {
	specs, err := Plan(opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("phantom: %w", err)
	}
	type result struct {
		img, lab *volume.Volume
		meta     Meta
	}
	ch := make(chan result, 1)
	errc := make(chan error, 1)
	rows := make([]dataset.Case, 0, len(specs))
	go func() {
		defer close(errc)
		var first error
		done := 0
		for r := range ch {
			if first == nil {
				first = WriteCase(dir, r.img, r.lab, r.meta)
			}
			if first == nil {
				rows = append(rows, Row(r.meta))
				done++
				if progress != nil {
					progress(done, len(specs))
				}
			}
		}
		errc <- first
	}()
	body := opt.Body
	if body == "" {
		body = BodyHead
	}
	var genErr error
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			genErr = err
			break
		}
		img, lab, meta, err := s.Generate(ctx, body, opt.Workers)
		if err != nil {
			genErr = err
			break
		}
		ch <- result{img, lab, meta}
	}
	close(ch)
	if werr := <-errc; werr != nil {
		return nil, werr
	}
	if genErr != nil {
		return nil, genErr
	}
	if err := WriteManifest(dir, rows); err != nil {
		return nil, err
	}
	return rows, nil
}
