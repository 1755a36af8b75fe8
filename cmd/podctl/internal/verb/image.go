package verb

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// ImageImportOptions are the inputs of `podctl image import`.
type ImageImportOptions struct {
	Streams
	// Path is the archive or OCI layout; sent as an absolute path since the
	// daemon resolves it on its own.
	Path string
	// Name tags the imported image.
	Name string
}

// ImageImport asks the daemon to import an image archive and prints
// "Loaded image: <ref>" per reference (docker load's words).
func ImageImport(ctx context.Context, c poddv1.PodServiceClient, opts ImageImportOptions) error {
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return fmt.Errorf("resolve %q: %w", opts.Path, err)
	}
	resp, err := c.ImportImage(ctx, &poddv1.ImportImageRequest{Path: abs, Name: opts.Name})
	if err != nil {
		return err
	}
	for _, img := range resp.GetImages() {
		if len(img.GetRefs()) == 0 {
			fmt.Fprintf(opts.Out, "Loaded image ID: %s\n", img.GetId())
		}
		for _, ref := range img.GetRefs() {
			fmt.Fprintf(opts.Out, "Loaded image: %s\n", ref)
		}
	}
	return nil
}

// ImagesOptions are the inputs of `podctl images`.
type ImagesOptions struct {
	Streams
	// Quiet prints only the image IDs.
	Quiet bool
	Now   Clock
}

// Images lists the daemon's images: REPOSITORY TAG IMAGE ID CREATED SIZE.
func Images(ctx context.Context, c poddv1.PodServiceClient, opts ImagesOptions) error {
	resp, err := c.ListImages(ctx, &poddv1.ListImagesRequest{})
	if err != nil {
		return err
	}
	if opts.Quiet {
		for _, img := range resp.GetImages() {
			fmt.Fprintln(opts.Out, printers.ShortImageID(img.GetId()))
		}
		return nil
	}
	rows := append([][]string{printers.ImageHeader()}, printers.ImageRows(resp.GetImages(), opts.Now.now())...)
	return printers.NewTable(opts.Out).Write(rows...)
}

// PullOptions are the inputs of `podctl pull`.
type PullOptions struct {
	Streams
	Ref string
	// Insecure allows a plain-HTTP registry.
	Insecure bool
}

// Pull asks the daemon to pull an image and prints its ID as crictl does.
func Pull(ctx context.Context, c poddv1.PodServiceClient, opts PullOptions) error {
	resp, err := c.PullImage(ctx, &poddv1.PullImageRequest{Ref: opts.Ref, Insecure: opts.Insecure})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Image is up to date for %s\n", resp.GetImage().GetId())
	return nil
}
