package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newDescribeCommand(a *app) *cobra.Command {
	opts := verb.DescribeOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "describe pod|deployment|configmap|secret|pvc|namespace [NAME...] | TYPE/NAME...",
		Short:   "Show the details of pods (with their events) and other objects",
		Example: "  podctl describe pod web\n  podctl describe pods",
		Args:    cobra.MinimumNArgs(1),
		RunE:    withObjects(a, nil, verb.DescribeObjects, runVerb(a, &opts, a.podNames(&opts.Names, &opts.Namespace), verb.Describe)),
	}
	return cmd
}
