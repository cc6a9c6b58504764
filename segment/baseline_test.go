package segment

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/volume"
)

func baseline(t *testing.T) *Model {
	t.Helper()
	m, err := LoadModelFS(models.Baseline())
	if err != nil {
		t.Fatalf("built-in model: %v", err)
	}
	return m
}

// The built-in model finds every ear in view, and no other, on fresh
// phantoms of every centre (seeds the training cohort never used), and
// segments each well enough: a floor far below the cohort figures in the
// README, to catch a broken model or pipeline rather than to measure one.
func TestBaselineFindsEveryEarOnFreshPhantoms(t *testing.T) {
	m := baseline(t)
	cases := []struct {
		centre, pathology string
	}{
		{"A", "none"}, {"B", "ip2"}, {"C", "none"}, {"D", "labyrinthitis_ossificans"}, {"E", "none"},
	}
	for i, tc := range cases {
		c, err := phantom.CentreByName(tc.centre)
		if err != nil {
			t.Fatal(err)
		}
		img, ref, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 90210 + uint64(i), Pathology: tc.pathology})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Segment(context.Background(), img, DefaultOptions())
		if err != nil {
			t.Fatalf("centre %s (%s): %v", tc.centre, tc.pathology, err)
		}
		var got []string
		for _, e := range res.Ears {
			got = append(got, e.Side)
		}
		sort.Strings(got)
		want := strings.Split(meta.EarsInFOV, "+")
		sort.Strings(want)
		if strings.Join(got, "+") != strings.Join(want, "+") {
			t.Errorf("centre %s (%s): ears found %v, in view %v", tc.centre, tc.pathology, got, want)
			continue
		}
		ev, err := metrics.Evaluate(ref, res.Labels, metrics.Options{ToleranceMM: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ev.Rows {
			if r.Structure == "labyrinth" && r.Ear != metrics.EarBoth {
				t.Logf("centre %s (%s) %s ear: labyrinth Dice %.3f", tc.centre, tc.pathology, r.Ear, r.Dice)
				if r.Dice < 0.7 {
					t.Errorf("centre %s (%s) %s ear: labyrinth Dice %.3f < 0.7", tc.centre, tc.pathology, r.Ear, r.Dice)
				}
			}
		}
	}
}

// Scans without an inner ear get ErrNoEar, not an invented segmentation.
func TestBaselineSaysNoEar(t *testing.T) {
	m := baseline(t)
	blank := volume.New(volume.NewGeometry([3]int{200, 200, 60}, [3]float64{0.5, 0.5, 1}), volume.Int16)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range blank.Data {
		blank.Data[i] = float32(-1000 + 20*rng.NormFloat64())
	}
	abdomen, _, _, err := phantom.NonEar(phantom.NonEarConfig{Seed: 4242})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*volume.Volume{"blank": blank, "abdomen": abdomen} {
		res, err := m.Segment(context.Background(), v, DefaultOptions())
		if !errors.Is(err, ErrNoEar) {
			n := 0
			if res != nil {
				n = len(res.Ears)
			}
			t.Errorf("%s: got %d ears and error %v, want ErrNoEar", name, n, err)
		}
	}
}
