package ear

import (
	"fmt"
	"image/color"
)

// Label is a value of otoseg's label maps. The labyrinth is every label > 0.
type Label uint8

// otoseg's labels.
const (
	Background Label = 0
	Cochlea    Label = 1
	Vestibule  Label = 2
	Canals     Label = 3
)

// LabyrinthID names the whole labyrinth (every label > 0) where a structure
// ID is expected, as in the evaluation's rows.
const LabyrinthID = "labyrinth"

// Structure is one row of the label table.
type Structure struct {
	Label Label
	// ID is the short machine name: file names, JSON keys, Slicer segment
	// IDs ("cochlea", "vestibule", "canals").
	ID string
	// Name is what people read ("semicircular canals").
	Name string
	// Colour is the structure's colour in every picture, overlay, mesh
	// viewer and 3D Slicer segmentation: red, green and blue, told apart on
	// grey CT and by readers with the common colour-vision deficiencies by
	// their brightness as well as their hue.
	Colour color.NRGBA
}

// table is the label table, in label order.
var table = [...]Structure{
	{Cochlea, "cochlea", "cochlea", color.NRGBA{235, 64, 52, 255}},
	{Vestibule, "vestibule", "vestibule", color.NRGBA{46, 204, 113, 255}},
	{Canals, "canals", "semicircular canals", color.NRGBA{52, 152, 255, 255}},
}

// others colours labels beyond otoseg's three (a model imported with more
// classes, a label map from another tool); label l > 3 takes entry
// (l-4) mod len.
var others = [...]color.NRGBA{
	{241, 196, 15, 255}, {155, 89, 182, 255}, {26, 188, 156, 255}, {230, 126, 34, 255}, {236, 112, 220, 255},
}

// Structures returns otoseg's labelled structures in label order.
func Structures() []Structure { return append([]Structure(nil), table[:]...) }

// Lookup returns the structure of label l; ok is false for the background
// and for labels otoseg does not name.
func Lookup(l int) (s Structure, ok bool) {
	if l >= 1 && l <= len(table) {
		return table[l-1], true
	}
	return Structure{}, false
}

// Describe returns the structure of any label 1..255: otoseg's own, or one
// named "label N" (ID "label_N") with a colour of its own.
func Describe(l int) Structure {
	if s, ok := Lookup(l); ok {
		return s
	}
	return Structure{Label: Label(l), ID: fmt.Sprintf("label_%d", l), Name: fmt.Sprintf("label %d", l), Colour: Colour(l)}
}

// Colour returns the colour of label l (transparent for the background).
func Colour(l int) color.NRGBA {
	switch {
	case l <= 0:
		return color.NRGBA{}
	case l <= len(table):
		return table[l-1].Colour
	}
	return others[(l-len(table)-1)%len(others)]
}

// Names maps label values to display names, the form a model's plan stores
// (plans.json "labels").
func Names() map[int]string {
	m := make(map[int]string, len(table))
	for _, s := range table {
		m[int(s.Label)] = s.Name
	}
	return m
}

// Palette is a 256-entry palette indexed by label value: the background
// transparent, every label its Colour. Paletted label images (the review
// app's overlays) use it directly.
func Palette() color.Palette {
	p := make(color.Palette, 256)
	for l := range p {
		p[l] = Colour(l)
	}
	return p
}
