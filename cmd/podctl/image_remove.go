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
		RunE:    runVerb(a, &opts, func(args []string) error { opts.Refs = args; return nil }, verb.RemoveImages),
	}
}

func newImagePruneCommand(a *app) *cobra.Command {
	opts := verb.PruneImagesOptions{Streams: a.streams}
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove every image no pod uses, and unused layers",
		Args:  cobra.NoArgs,
		RunE:  runVerb(a, &opts, nil, verb.PruneImages),
	}
}
