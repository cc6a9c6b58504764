package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent fails when nn/kernels_amd64.s was edited by
// hand or the generator changed without `go generate ./nn`.
func TestGeneratedFileIsCurrent(t *testing.T) {
	have, err := os.ReadFile("../../kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, generate()) {
		t.Fatal("nn/kernels_amd64.s differs from the generator's output: run go generate ./nn")
	}
}
