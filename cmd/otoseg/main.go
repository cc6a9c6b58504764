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
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/nn"
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

Labels: 1 cochlea, 2 vestibule, 3 semicircular canals; the labyrinth is > 0.

Every command writes with -o/--out, prints status and progress on stderr and
results on stdout, and exits with 0 (done), 1 (failed), 2 (usage: a bad flag,
argument or output), 3 (no inner ear found in the scan), 4 (the input is not a
CT volume: one slice, MR, mis-rescaled), 5 (ears located but no labyrinth
segmented in them) or 130 (interrupted).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
		// A kernel path forced through the environment that this CPU
		// cannot run is refused before any work, rather than measured or
		// trained on another path than the one asked for.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nn.CheckKernels() },
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
		newBatchCmd(),
		newPacsCmd(),
		newMeasureCmd(),
		newQCCmd(),
	)
	markUsageErrors(root)
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd, err := newRootCmd().ExecuteContextC(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, errorMessage(cmd, err))
		os.Exit(exitCode(err))
	}
}
