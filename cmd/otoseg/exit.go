package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/segment"
)

// Exit statuses, the same for every subcommand (documented in the README):
// scripts can tell a failure from a misuse, from "this scan holds no inner
// ear" and from an interrupted run.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNoEar       = 3   // the ear search found nothing: another body part, a blank volume
	exitNotCT       = 4   // the input is not a CT volume otoseg can segment (one slice, MR, mis-rescaled)
	exitNoLabyrinth = 5   // ears were located but the segmenter found no labyrinth in them
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// usageError is a command line that cannot run as given: a missing or
// unknown flag, a flag value out of range, the wrong number of arguments,
// an output that would overwrite an input. It exits with exitUsage and a
// pointer to --help.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError is an error with its own exit status, such as a batch in which
// some scans failed.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode maps an error to the process's exit status.
func exitCode(err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, segment.ErrInvalidOption):
		return exitUsage
	case errors.Is(err, segment.ErrNotVolume), errors.Is(err, segment.ErrNotCT):
		return exitNotCT
	case errors.Is(err, segment.ErrNoLabyrinth): // before ErrNoEar, which it also matches
		return exitNoLabyrinth
	case errors.Is(err, segment.ErrNoEar):
		return exitNoEar
	}
	return exitFailure
}

// errorMessage is what otoseg prints for err from cmd: the command's name
// once, the error, and for a misuse where to read how to use it.
func errorMessage(cmd *cobra.Command, err error) string {
	name := "otoseg"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	msg := err.Error()
	if cmd != nil {
		// Errors made in the command's own code often start with its name.
		msg = strings.TrimPrefix(msg, cmd.Name()+": ")
	}
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	out := name + ": " + msg
	var ue usageError
	if errors.As(err, &ue) {
		out += fmt.Sprintf("\nRun '%s --help' for usage.", name)
	}
	return out
}

// markUsageErrors makes argument-count errors of cmd and its subcommands,
// and flag parse errors, usage errors.
func markUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		markUsageErrors(c)
	}
}
