// Package models embeds otoseg's baseline model in the binary, so that
// `otoseg segment` works out of the box, without a model folder. See
// baseline/MODEL_CARD.md for what it was trained on (synthetic phantoms) and
// how to reproduce it.
package models

import (
	"embed"
	"io/fs"
)

//go:embed baseline/plans.json baseline/locator.safetensors baseline/segmenter.safetensors baseline/MODEL_CARD.md
var files embed.FS

// Baseline returns the embedded baseline model folder.
func Baseline() fs.FS {
	sub, err := fs.Sub(files, "baseline")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}
