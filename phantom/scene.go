package phantom

// Tissue names a material; a scanner profile maps it to HU.
type Tissue uint8

// Tissues, from air to metal. Order does not matter; the painter's order of
// objects in a scene decides what is on top.
const (
	Air Tissue = iota
	Fat
	Soft       // skin, muscle, mucosa
	Brain      // brain parenchyma
	Fluid      // CSF, perilymph/endolymph in the labyrinth and aqueducts
	Blood      // venous sinuses, carotid, jugular bulb
	Nerve      // facial and vestibulocochlear nerves in their canals
	Marrow     // cancellous bone with marrow (mastoid tip, diploe)
	Cortical   // skull tables, compact bone
	Petrous    // dense petrous bone
	Capsule    // otic capsule, the densest bone in the body
	Modiolus   // spongy bone of the cochlear axis
	Ossicle    // malleus, incus, stapes
	NewBone    // labyrinthitis ossificans
	Spongiotic // otosclerotic focus
	Silicone   // electrode carrier
	Metal      // electrode contacts and wire (platinum-iridium)
	Enamel     // teeth, the densest non-metal
	numTissues
)

var tissueNames = [...]string{"air", "fat", "soft", "brain", "fluid", "blood", "nerve", "marrow",
	"cortical", "petrous", "capsule", "modiolus", "ossicle", "newbone", "spongiotic", "silicone", "metal", "enamel"}

func (t Tissue) String() string {
	if int(t) < len(tissueNames) {
		return tissueNames[t]
	}
	return "tissue?"
}

// baseHU is the mean attenuation of each tissue on a calibrated 120 kV CT,
// from /reference/inner-ear-ct.md where it says, general knowledge otherwise.
var baseHU = [numTissues]float64{
	Air: -1000, Fat: -100, Soft: 45, Brain: 35, Fluid: 12, Blood: 50, Nerve: 30,
	Marrow: 350, Cortical: 1500, Petrous: 1600, Capsule: 2080, Modiolus: 900,
	Ossicle: 1500, NewBone: 1450, Spongiotic: 1350, Silicone: 300, Metal: 12000, Enamel: 2600,
}

// object is one painted solid: where its shape contains a point, the point
// becomes tissue (and label, unless keepLabel). only, when non-zero, is a
// bit set of tissues the object may paint over (otosclerosis stays in the
// capsule, ossification stays in the lumen).
type object struct {
	s         shape
	tissue    Tissue
	label     uint8
	keepLabel bool
	only      uint32
	bb        box
	// labelled objects can change the label: their surfaces get the finer
	// supersampling that votes labels.
	labelled bool
}

func over(ts ...Tissue) uint32 {
	var m uint32
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

// scene is a painter's list of objects in anatomical coordinates (LPS mm,
// head upright, before patient rotation). Later objects paint over earlier
// ones; the background is air.
type scene struct {
	objs []object
}

func (s *scene) add(sh shape, t Tissue, label uint8) *object {
	sh = prep(sh)
	s.objs = append(s.objs, object{s: sh, tissue: t, label: label, bb: sh.bounds(), labelled: label > 0 || t == NewBone})
	return &s.objs[len(s.objs)-1]
}

func (s *scene) addTube(nodes []tubeNode, t Tissue, label uint8) {
	for _, tb := range splitTube(nodes, 6) {
		s.add(tb, t, label)
	}
}

// paint returns the tissue and label at p considering only objects idx
// (ascending) with inside[i] telling containment.
func paintAt(objs []object, idx []int32, inside []bool) (Tissue, uint8) {
	t, l := Air, uint8(0)
	for n, i := range idx {
		if !inside[n] {
			continue
		}
		o := &objs[i]
		if o.only != 0 && o.only&(1<<t) == 0 {
			continue
		}
		t = o.tissue
		if !o.keepLabel {
			l = o.label
		}
	}
	return t, l
}
