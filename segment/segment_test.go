package segment

import (
	"math"
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/unet"
	"github.com/otoseg/otoseg/volume"
)

// sphereProbs builds 4-class probabilities on grid g: class 1 inside a
// sphere of radius r (mm) around world point c, class 2 in a shell
// outside it, background elsewhere.
func sphereProbs(g volume.Geometry, c [3]float64, r float64) []float32 {
	n := g.Len()
	p := make([]float32, 4*n)
	for idx := 0; idx < n; idx++ {
		i, j, k := idx%g.Dims[0], idx/g.Dims[0]%g.Dims[1], idx/(g.Dims[0]*g.Dims[1])
		w := g.World(float64(i), float64(j), float64(k))
		d := math.Sqrt((w[0]-c[0])*(w[0]-c[0]) + (w[1]-c[1])*(w[1]-c[1]) + (w[2]-c[2])*(w[2]-c[2]))
		switch {
		case d < r:
			p[n+idx] = 1
		case d < r+1:
			p[2*n+idx] = 1
		default:
			p[idx] = 1
		}
	}
	return p
}

func testModel(t *testing.T) *Model {
	cfg := unet.DefaultConfig()
	cfg.Features = []int{4, 8}
	net, err := unet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Model{Plan: &plan.Plan{Labels: map[int]string{1: "cochlea", 2: "vestibule", 3: "semicircular canals"}}, Seg: net}
}

// Pasting an ear's probabilities from its (mirrored, finer) region grid
// into a scan with another orientation puts every label at the right world
// position.
func TestPasteKeepsWorldPositions(t *testing.T) {
	sg := volume.NewGeometry([3]int{90, 80, 40}, [3]float64{0.5, 0.5, 0.8})
	sg.Direction = [3][3]float64{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}} // stored RAS
	sg.Origin = [3]float64{-30, 20, -16}
	centre := sg.World(60, 40, 20)
	for _, side := range []ear.Side{ear.Left, ear.Right} {
		grid := ear.Grid(centre, side, [3]int{48, 48, 40}, [3]float64{0.3, 0.3, 0.4})
		pr := &earPrediction{side: side, grid: grid, prob: sphereProbs(grid, centre, 4)}
		out := volume.New(sg, volume.Uint8)
		ear, ok, err := testModel(t).paste(out, pr, Options{MinEarVolumeMM3: 1})
		if err != nil || !ok {
			t.Fatalf("%v: paste ok=%v err=%v", side, ok, err)
		}
		wrong := 0
		for idx, v := range out.Data {
			i, j, k := idx%90, idx/90%80, idx/(90*80)
			w := sg.World(float64(i), float64(j), float64(k))
			d := math.Sqrt((w[0]-centre[0])*(w[0]-centre[0]) + (w[1]-centre[1])*(w[1]-centre[1]) + (w[2]-centre[2])*(w[2]-centre[2]))
			want := float32(0)
			switch {
			case d < 3.6:
				want = 1
			case d > 4.4 && d < 4.6:
				want = 2
			case d > 5.4:
				want = 0
			default:
				continue // boundary band: either is right
			}
			if v != want {
				wrong++
			}
		}
		if wrong > 0 {
			t.Errorf("%v: %d voxels with the wrong label", side, wrong)
		}
		sphere := 4.0 / 3 * math.Pi * 64
		if got := ear.VolumesMM3["cochlea"]; math.Abs(got-sphere) > 0.1*sphere {
			t.Errorf("%v: cochlea volume %.1f mm^3, want about %.1f", side, got, sphere)
		}
		if ear.Side != side.String() {
			t.Errorf("side %s, want %v", ear.Side, side)
		}
	}
}

func TestPasteRejectsTinyEar(t *testing.T) {
	sg := volume.NewGeometry([3]int{40, 40, 40}, [3]float64{0.5, 0.5, 0.5})
	c := sg.World(20, 20, 20)
	grid := ear.Grid(c, ear.Left, [3]int{32, 32, 32}, [3]float64{0.3, 0.3, 0.3})
	pr := &earPrediction{side: ear.Left, grid: grid, prob: sphereProbs(grid, c, 1)}
	if _, ok, err := testModel(t).paste(volume.New(sg, volume.Uint8), pr, Options{MinEarVolumeMM3: 50}); err != nil || ok {
		t.Errorf("a 4 mm^3 labyrinth was reported as an ear (ok=%v, err=%v)", ok, err)
	}
}

func TestCleanLabyrinth(t *testing.T) {
	dims := [3]int{30, 10, 10}
	n := dims[0] * dims[1] * dims[2]
	lab := make([]uint8, n)
	best := make([]uint8, n)
	at := func(i, j, k int) int { return i + dims[0]*(j+dims[1]*k) }
	// 0.5 mm voxels: a hollow 5x5x5 cube of label 2 (its centre is a hole),
	// a speck of label 1 11 mm away, and a second block of 4x4x4, 3 mm away.
	for k := 2; k < 7; k++ {
		for j := 2; j < 7; j++ {
			for i := 2; i < 7; i++ {
				lab[at(i, j, k)] = 2
			}
		}
	}
	lab[at(4, 4, 4)] = 0
	best[at(4, 4, 4)] = 3
	lab[at(28, 8, 8)] = 1
	for k := 1; k < 5; k++ {
		for j := 1; j < 5; j++ {
			for i := 12; i < 16; i++ {
				lab[at(i, j, k)] = 3
			}
		}
	}
	out, err := cleanLabyrinth(lab, best, dims, [3]float64{0.5, 0.5, 0.5}, ruleFor(DefaultOptions()))
	if err != nil {
		t.Fatal(err)
	}
	if out[at(28, 8, 8)] != 0 {
		t.Error("far speck kept")
	}
	if out[at(4, 4, 4)] != 3 {
		t.Errorf("hole filled with %d, want the most likely foreground class 3", out[at(4, 4, 4)])
	}
	if out[at(13, 2, 2)] != 3 {
		t.Error("near second component dropped")
	}
}

// The anatomy rule on synthetic masks: a main component the size of a
// labyrinth's extent (a 12 mm cube) and one other piece, on anisotropic
// voxels so that a rule measuring in voxels instead of mm would fail. Size
// does not decide: a big piece far away goes, a single voxel near stays.
func TestCleanLabyrinthAnatomyRule(t *testing.T) {
	sp := [3]float64{0.5, 0.5, 0.75}
	dims := [3]int{80, 80, 54} // 40 x 40 x 40.5 mm
	n := dims[0] * dims[1] * dims[2]
	// box marks the voxels whose centre (index x spacing, mm) lies in
	// [lo, hi].
	box := func(m []uint8, v uint8, lo, hi [3]float64) {
		for idx := range m {
			x := [3]int{idx % dims[0], idx / dims[0] % dims[1], idx / (dims[0] * dims[1])}
			in := true
			for a := 0; a < 3; a++ {
				c := float64(x[a]) * sp[a]
				in = in && c >= lo[a]-1e-9 && c <= hi[a]+1e-9
			}
			if in {
				m[idx] = v
			}
		}
	}
	inf := math.Inf(1)
	anatomy := ruleFor(DefaultOptions())
	gapOnly := pieceRule{maxGapMM: MaxPieceGapMM, maxReachMM: inf}
	reachOnly := pieceRule{maxGapMM: inf, maxReachMM: MaxReachMM}
	sizeOnly := ruleFor(Options{KeepFarPieces: true})
	// The main component spans 14-26 mm on every axis (voxel centres), its
	// centroid near (20, 20, 20).
	farBlob := [2][3]float64{{2, 14, 14}, {6, 26, 26}}                // 8 mm beyond x = 14, 36% of the main
	nearPiece := [2][3]float64{{18.5, 18.5, 27}, {21.5, 21.5, 29.25}} // 1.5 mm above the top slice (25.5)
	gap5 := [2][3]float64{{31.5, 18, 18}, {32.5, 22, 22}}             // 5.5 mm beyond x = 26 (11 voxels)
	gap7 := [2][3]float64{{33, 18, 18}, {34, 22, 22}}                 // 7 mm beyond x = 26
	rod := [2][3]float64{{19, 28, 19.5}, {21, 36, 20.25}}             // 2 mm beyond y = 26, reaching 16 mm from the centroid
	speck := [2][3]float64{{27, 20, 20.25}, {27, 20, 20.25}}          // one voxel, 1 mm away: a thin canal cut by 1 mm slices
	farSpeck := [2][3]float64{{30, 20, 20.25}, {30.5, 20.5, 20.25}}   // 4 voxels (0.75 mm³), 4 mm away: noise
	farPiece := [2][3]float64{{30, 19, 19.5}, {32, 21, 21}}           // 75 voxels (14 mm³), 4 mm away: an ossified turn
	cases := []struct {
		name  string
		piece [2][3]float64
		rule  pieceRule
		kept  bool
	}{
		{"far blob, 8 mm away and big", farBlob, anatomy, false},
		{"far blob, gap rule alone", farBlob, gapOnly, false},
		{"far blob without the anatomy rule", farBlob, sizeOnly, true},
		{"near piece, 1.5 mm gap", nearPiece, anatomy, true},
		{"5.5 mm gap (11 voxels), gap rule alone", gap5, gapOnly, true},
		{"7 mm gap, gap rule alone", gap7, gapOnly, false},
		{"piece outside a labyrinth's extent", rod, anatomy, false},
		{"piece outside the extent, reach rule alone", rod, reachOnly, false},
		{"piece outside the extent without the anatomy rule", rod, sizeOnly, true},
		{"single voxel next to it", speck, anatomy, true},
		{"speck 4 mm away", farSpeck, anatomy, false},
		{"speck 4 mm away without the anatomy rule", farSpeck, sizeOnly, true},
		{"piece of 14 mm³ 4 mm away", farPiece, anatomy, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab := make([]uint8, n)
			box(lab, 2, [3]float64{14, 14, 14}, [3]float64{26, 26, 26})
			box(lab, 1, tc.piece[0], tc.piece[1])
			out, err := cleanLabyrinth(lab, lab, dims, sp, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			var mainKept, mainAll, pieceKept, pieceAll int
			for i, v := range lab {
				switch v {
				case 2:
					mainAll++
					if out[i] == 2 {
						mainKept++
					}
				case 1:
					pieceAll++
					if out[i] == 1 {
						pieceKept++
					}
				}
			}
			if pieceAll == 0 || mainKept != mainAll {
				t.Fatalf("main component: %d of %d voxels kept; piece of %d voxels", mainKept, mainAll, pieceAll)
			}
			if want := map[bool]int{true: pieceAll, false: 0}[tc.kept]; pieceKept != want {
				t.Errorf("piece: %d of %d voxels kept, want %d", pieceKept, pieceAll, want)
			}
		})
	}
}

// The clean-up keeps every voxel of reference labels, ossified labyrinths
// broken into pieces included, at every centre's voxel size: the rule's
// constants have margin over what anatomy does, not just over the cohort
// they were measured on (different seeds, severities and field of view).
func TestCleanLabyrinthKeepsReferenceAnatomy(t *testing.T) {
	if testing.Short() {
		t.Skip("generates phantoms")
	}
	cases := []struct {
		centre, pathology string
		severity          float64
	}{
		{"A", phantom.LabyrinthitisOssificans, 1},
		{"B", phantom.LabyrinthitisOssificans, 0.3},
		{"B", phantom.LabyrinthitisOssificans, 0.8},
		{"C", phantom.LabyrinthitisOssificans, 0.6},
		{"E", phantom.LabyrinthitisOssificans, 1},
		{"B", phantom.CanalAplasia, 1},
		{"D", phantom.CanalDysplasia, 1},
		{"E", phantom.CochlearHypoplasia, 1},
		{"C", phantom.IncompletePartition1, 1},
		{"E", phantom.Normal, 0.5},
	}
	broken := 0
	for i, tc := range cases {
		c, err := phantom.CentreByName(tc.centre)
		if err != nil {
			t.Fatal(err)
		}
		_, ref, _, err := phantom.Generate(phantom.Config{Centre: c, Seed: 7100 + uint64(i), Pathology: tc.pathology,
			Severity: tc.severity, Side: "left", FOV: phantom.FOVEar, Extent: [3]float64{32, 32, 30}, Clean: true})
		if err != nil {
			t.Fatal(err)
		}
		lab := make([]uint8, len(ref.Data))
		m := morph.NewMask(ref.Dims)
		for i, v := range ref.Data {
			lab[i] = uint8(v)
			m.Data[i] = v > 0
		}
		comps, err := morph.Label(m, morph.Conn26)
		if err != nil {
			t.Fatal(err)
		}
		if comps.N > 1 {
			broken++
		}
		out, err := cleanLabyrinth(lab, lab, ref.Dims, ref.Spacing, ruleFor(DefaultOptions()))
		if err != nil {
			t.Fatal(err)
		}
		dropped := 0
		for i, v := range lab {
			if v != 0 && out[i] != v {
				dropped++
			}
		}
		t.Logf("centre %s, %s %.1f: %d components, %d voxels", tc.centre, tc.pathology, tc.severity, comps.N, comps.Sizes[comps.Largest()])
		if dropped > 0 {
			t.Errorf("centre %s, %s %.1f: %d of the reference's voxels dropped or relabelled", tc.centre, tc.pathology, tc.severity, dropped)
		}
	}
	if broken == 0 {
		t.Error("no reference labyrinth came in pieces: the test no longer tests the rule")
	}
}

// A side's candidates are compared by how much labyrinth the fine network
// finds in each: the summed foreground probability.
func TestEvidenceRanksCandidates(t *testing.T) {
	g := ear.Grid([3]float64{0, 0, 0}, ear.Left, [3]int{40, 40, 40}, [3]float64{0.3, 0.3, 0.3})
	empty := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{100, 0, 0}, 1)}
	small := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{0, 0, 0}, 1)}
	ear := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{0, 0, 0}, 3)}
	if e := empty.evidence(); e != 0 {
		t.Errorf("evidence of a region without foreground = %g, want 0", e)
	}
	// Sphere of radius 3 plus a 1 mm shell: about 4/3·π·4³ mm³ in 0.027 mm³ voxels.
	want := 4.0 / 3 * math.Pi * 64 / 0.027
	if e := ear.evidence(); math.Abs(e-want) > 0.05*want {
		t.Errorf("evidence = %g, want about %g voxels", e, want)
	}
	if small.evidence() >= ear.evidence() {
		t.Errorf("evidence: small %g >= ear %g", small.evidence(), ear.evidence())
	}
}

func TestSidesInOrderOfConfidence(t *testing.T) {
	c := func(s ear.Side) locate.Candidate {
		var x locate.Candidate
		x.Side = s
		return x
	}
	got := sides([]locate.Candidate{c(ear.Right), c(ear.Right), c(ear.Left), c(ear.Right)})
	if len(got) != 2 || got[0] != ear.Right || got[1] != ear.Left {
		t.Errorf("sides = %v, want [right left]", got)
	}
	if got := sides(nil); len(got) != 0 {
		t.Errorf("sides(nil) = %v", got)
	}
}
