package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newDescribeCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "describe pod [NAME...] | pod/NAME...",
		Short:   "Show the details of pods, with their events",
		Example: "  podctl describe pod web\n  podctl describe pods",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := verb.ParseResourceArgs(args)
			if err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return verb.Describe(cmd.Context(), c, verb.DescribeOptions{
				Streams: a.streams, Namespace: a.namespace, Names: names,
			})
		},
	}
	return cmd
}
