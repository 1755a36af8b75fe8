package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newPullCommand(a *app) *cobra.Command {
	opts := verb.PullOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "pull REF",
		Short:   "Pull an image from a registry",
		Example: "  podctl pull docker.io/library/busybox:latest\n  podctl pull --insecure localhost:5000/app:1",
		Args:    cobra.ExactArgs(1),
		RunE:    runVerb(a, &opts, func(args []string) error { opts.Ref = args[0]; return nil }, verb.Pull),
	}
	cmd.Flags().BoolVar(&opts.Insecure, "insecure", false, "allow a plain-HTTP registry")
	return cmd
}
