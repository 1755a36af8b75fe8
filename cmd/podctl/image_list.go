package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newImagesCommand(a *app) *cobra.Command {
	opts := verb.ImagesOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"ls", "list"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE:    runVerb(a, &opts, nil, verb.Images),
	}
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print image IDs only")
	return cmd
}
