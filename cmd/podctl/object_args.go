package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// withObjects runs objVerb when the arguments name an object kind
// (configmaps, secrets, pvc, namespaces), else pods. fill adds the
// command's flags to the options and may refuse a flag of pods only.
func withObjects(a *app, fill func(*verb.ObjectOptions) error,
	objVerb func(context.Context, poddv1.PodServiceClient, verb.ObjectOptions) error,
	pods func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		kind, names, ok, err := verb.ParseObjectArgs(args)
		if err != nil {
			return err
		}
		if !ok {
			return pods(cmd, args)
		}
		opts := verb.ObjectOptions{Streams: a.streams, Kind: kind, Names: names, Namespace: a.namespace}
		if fill != nil {
			if err := fill(&opts); err != nil {
				return err
			}
		}
		c, err := a.client(cmd.Context())
		if err != nil {
			return err
		}
		return objVerb(cmd.Context(), c, opts)
	}
}
