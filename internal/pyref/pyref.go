// Package pyref runs the reference checks that hold otoseg to tools nobody
// here wrote (nibabel, scipy, scikit-image, PyTorch) in Debian's Python,
// for the tests of every package: one place that knows which interpreter
// has them and what to install when it is missing.
package pyref

import (
	"os/exec"
	"testing"
)

// Python is Debian's interpreter, the one apt's python3-numpy,
// python3-scipy, python3-skimage, python3-nibabel, python3-pydicom and
// python3-torch install into (a pyenv or venv python3 on PATH may lack
// them).
const Python = "/usr/bin/python3"

// Install names the Debian packages the reference checks need; .ci/run
// installs them.
const Install = "apt-get install python3-numpy python3-scipy python3-skimage python3-nibabel python3-pydicom python3-torch"

// Run runs Python with args (a script and its arguments, or "-c" and
// code) and returns its combined output; it fails the test with that output
// when Python is missing or the check fails.
func Run(t testing.TB, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(Python); err != nil {
		t.Fatalf("reference checks need %s (%s): %v", Python, Install, err)
	}
	out, err := exec.Command(Python, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s\n(the reference checks need %s)", Python, args, err, out, Install)
	}
	return out
}
