package verb

import (
	"context"
	"fmt"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// RemoveImagesOptions are the inputs of `podctl rmi` (`podctl image rm`).
type RemoveImagesOptions struct {
	Streams
	// Refs are names, digests or IDs, removed in order.
	Refs []string
}

// RemoveImages removes each image and prints docker's "Untagged:" and
// "Deleted:" lines; a failure (an image in use, say) is reported and the
// others are still removed.
func RemoveImages(ctx context.Context, c poddv1.PodServiceClient, opts RemoveImagesOptions) error {
	return forEach(ctx, opts.ErrOut, opts.Refs, func(ref string) error {
		resp, err := c.RemoveImage(ctx, &poddv1.RemoveImageRequest{Ref: ref})
		if err != nil {
			return err
		}
		for _, u := range resp.GetUntagged() {
			fmt.Fprintf(opts.Out, "Untagged: %s\n", u)
		}
		if d := resp.GetDeleted(); d != "" {
			fmt.Fprintf(opts.Out, "Deleted: %s\n", d)
		}
		return nil
	})
}

// PruneImagesOptions are the inputs of `podctl image prune`.
type PruneImagesOptions struct {
	Streams
}

// PruneImages removes every image no pod uses and prints what went.
func PruneImages(ctx context.Context, c poddv1.PodServiceClient, opts PruneImagesOptions) error {
	resp, err := c.PruneImages(ctx, &poddv1.PruneImagesRequest{})
	if err != nil {
		return err
	}
	for _, img := range resp.GetDeleted() {
		for _, r := range img.GetRefs() {
			fmt.Fprintf(opts.Out, "Untagged: %s\n", r)
		}
		fmt.Fprintf(opts.Out, "Deleted: %s\n", img.GetDigest())
	}
	fmt.Fprintf(opts.Out, "Total: %d images, %d unpacked layers removed\n", len(resp.GetDeleted()), resp.GetLayersRemoved())
	return nil
}
