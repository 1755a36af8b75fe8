package main

import (
	"fmt"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newExecCommand(a *app) *cobra.Command {
	opts := verb.ExecOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
		Short: "Run a command in a container",
		Long: "Run a command in a running container. podctl exits with the command's exit code.\n" +
			"-i forwards standard input; -t allocates a terminal (raw mode, window size follows).",
		Example: "  podctl exec web -- cat /etc/hostname\n  podctl exec -it web -- sh",
		Args:    cobra.MinimumNArgs(1),
	}
	cmd.RunE = runVerb(a, &opts, func(args []string) error {
		if dash := cmd.ArgsLenAtDash(); dash > 1 {
			return fmt.Errorf("exec takes one pod before --: podctl exec POD -- COMMAND [ARG...]")
		}
		var err error
		opts.Pod, err = verb.PodName(args[0])
		opts.Command, opts.Namespace = args[1:], a.namespace
		return err
	}, verb.Exec)
	cmd.Flags().StringVarP(&opts.Container, "container", "c", "", "the container (default: the only or first one)")
	cmd.Flags().BoolVarP(&opts.Stdin, "stdin", "i", false, "forward standard input to the command")
	cmd.Flags().BoolVarP(&opts.TTY, "tty", "t", false, "allocate a terminal")
	return cmd
}
