package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newImageCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImageImportCommand(a), newImagesCommand(a), newPullCommand(a),
		newRemoveImageCommand(a, "rm", "rmi", "remove"), newImagePruneCommand(a))
	return cmd
}

func newImageImportCommand(a *app) *cobra.Command {
	opts := verb.ImageImportOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "import FILE [--name REF]",
		Short: "Import a docker-archive tar or an OCI layout lying on this host",
		Example: "  podctl image import busybox.tar --name busybox:latest\n" +
			"  podctl image import ./oci-layout/",
		Args: cobra.ExactArgs(1),
		RunE: runVerb(a, &opts, func(args []string) error { opts.Path = args[0]; return nil }, verb.ImageImport),
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "tag the imported image with this reference")
	return cmd
}
