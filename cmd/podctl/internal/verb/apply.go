package verb

import (
	"context"
	"fmt"
	"strings"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// ApplyOptions are the inputs of `podctl apply`.
type ApplyOptions struct {
	Streams
	// Files are the -f arguments: files, directories or "-".
	Files []string
}

// Apply sends each manifest to the daemon and prints, like kubectl, one
// "<kind>/<name> created|configured|unchanged" line per object and the daemon's
// warnings as "Warning: ..." on stderr. A manifest the daemon rejects is
// reported and the others are still applied.
func Apply(ctx context.Context, c poddv1.PodServiceClient, opts ApplyOptions) error {
	if len(opts.Files) == 0 {
		return fmt.Errorf("must specify one of -f")
	}
	files, err := readManifests(opts.Files, opts.In)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no objects passed to apply")
	}
	return forEach(ctx, opts.ErrOut, files, func(f manifestFile) error {
		resp, err := c.Apply(ctx, &poddv1.ApplyRequest{Manifest: f.Data, Source: f.Source})
		if err != nil {
			return err
		}
		for _, w := range resp.GetWarnings() {
			fmt.Fprintf(opts.ErrOut, "Warning: %s\n", w)
		}
		for _, r := range resp.GetResults() {
			kind := strings.ToLower(r.GetKind())
			if kind == "" {
				kind = "pod"
			}
			fmt.Fprintf(opts.Out, "%s/%s %s\n", kind, r.GetName(), r.GetAction())
		}
		return nil
	})
}
