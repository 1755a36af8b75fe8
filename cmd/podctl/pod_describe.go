package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newDescribeCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "describe pod|configmap|secret|pvc|namespace [NAME...] | TYPE/NAME...",
		Short:   "Show the details of pods (with their events) and other objects",
		Example: "  podctl describe pod web\n  podctl describe pods",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind, names, ok, err := verb.ParseObjectArgs(args); ok || err != nil {
				if err != nil {
					return err
				}
				c, err := a.client(cmd.Context())
				if err != nil {
					return err
				}
				return verb.DescribeObjects(cmd.Context(), c, verb.ObjectOptions{Streams: a.streams, Kind: kind, Names: names, Namespace: a.namespace})
			}
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
