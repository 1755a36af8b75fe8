package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

// newRemoveImageCommand is `podctl rmi` and `podctl image rm`.
func newRemoveImageCommand(a *app, use string, aliases ...string) *cobra.Command {
	opts := verb.RemoveImagesOptions{Streams: a.streams}
	return &cobra.Command{
		Use:     use + " IMAGE...",
		Aliases: aliases,
		Short:   "Remove images (refused while a pod uses one)",
		Example: "  podctl rmi busybox:latest\n  podctl image rm sha256:0123abcd",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			opts.Refs = args
			return verb.RemoveImages(cmd.Context(), c, opts)
		},
	}
}

func newImagePruneCommand(a *app) *cobra.Command {
	opts := verb.PruneImagesOptions{Streams: a.streams}
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove every image no pod uses, and unused layers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return verb.PruneImages(cmd.Context(), c, opts)
		},
	}
}
