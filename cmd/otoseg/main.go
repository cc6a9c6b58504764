// Command otoseg segments the inner ear (cochlea, vestibule, semicircular
// canals) from temporal-bone CT with a 3-D U-Net, and runs the validation
// study around it: phantoms, training, evaluation, expert review.
//
// Each subcommand lives in its own file as newXxxCmd, which builds a
// *cobra.Command whose RunE parses flags into an options struct and calls a
// run function; tests call the run functions directly.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "otoseg",
		Short: "segment the inner ear from temporal-bone CT and validate the segmentation",
		Long: `otoseg segments the bony labyrinth of the inner ear (cochlea, vestibule,
semicircular canals) from temporal-bone or head CT with a 3-D U-Net that runs
on an ordinary CPU, and runs the validation study around it.

Images are read and written as NIfTI (.nii, .nii.gz), NRRD (.nrrd, .seg.nrrd),
MetaImage (.mha, .mhd) and DICOM (a folder of series or a .zip).

Labels: 1 cochlea, 2 vestibule, 3 semicircular canals; the labyrinth is > 0.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		// one line per subcommand; each newXxxCmd lives in xxx.go
		newVersionCmd(),
		newPhantomCmd(),
		newSnapshotCmd(),
		newInfoCmd(),
		newConvertCmd(),
		newEvaluateCmd(),
		newBenchCmd(),
		newReviewCmd(),
		newTrainCmd(),
		newSegmentCmd(),
		newModelCmd(),
		newDatasetCmd(),
		newDemoCmd(),
	)
	return root
}

// exitError is an error with its own exit status: `otoseg segment` exits
// with 3 when the scan holds no inner ear, an answer rather than a failure.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otoseg:", err)
		code := 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		os.Exit(code)
	}
}
