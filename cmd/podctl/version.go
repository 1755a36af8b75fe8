package main

import (
	"context"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/spf13/cobra"
)

func newVersionCommand(a *app) *cobra.Command {
	opts := verb.VersionOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and daemon versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			connect := func(ctx context.Context) (poddv1.PodServiceClient, error) { return a.client(ctx) }
			return verb.Version(cmd.Context(), connect, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ClientOnly, "client", false, "print the client version only")
	return cmd
}
