package main

import (
	"fmt"
	"io/fs"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/segment"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the otoseg version, its source revision and the built-in model's checksum",
		Example: "  otoseg version\n  otoseg --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "otoseg", versionString())
			return nil
		},
	}
}

// versionString says which otoseg this is, enough to reproduce a result:
// the module version, the source revision it was built from (with
// "+modified" when the tree had uncommitted changes), the Go toolchain and
// platform, and the SHA-256 of the built-in model's segmenter weights as its
// card records them.
func versionString() string {
	v, rev := "(devel)", "unknown (built without -buildvcs)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified {
			rev += "+modified"
		}
	}
	return fmt.Sprintf("%s (revision %s, %s %s/%s, built-in model segmenter sha256 %s)",
		v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, baselineChecksum())
}

// baselineChecksum is the segmenter checksum the built-in model's card
// records ("unknown" if it records none).
func baselineChecksum() string {
	b, err := fs.ReadFile(models.Baseline(), segment.CardFile)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.Trim(line, "`- "))
		if len(f) == 3 && f[0] == "sha256" && f[2] == segment.SegmenterFile {
			return f[1]
		}
	}
	return "unknown"
}
