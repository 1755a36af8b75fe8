package verb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// Pull asks the daemon to pull an image, shows each layer's progress
// (bars redrawn in place on a terminal, a line per change otherwise) and
// prints its ID as crictl does. A daemon without progress streaming gets
// the plain pull.
func Pull(ctx context.Context, c poddv1.PodServiceClient, opts PullOptions) error {
	req := &poddv1.PullImageRequest{Ref: opts.Ref, Insecure: opts.Insecure}
	img, err := pullWithProgress(ctx, c, req, newPullRenderer(opts.Out))
	if status.Code(err) == codes.Unimplemented {
		var resp *poddv1.PullImageResponse
		if resp, err = c.PullImage(ctx, req); err == nil {
			img = resp.GetImage()
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Image is up to date for %s\n", img.GetId())
	return nil
}

func pullWithProgress(ctx context.Context, c poddv1.PodServiceClient, req *poddv1.PullImageRequest, r *pullRenderer) (*poddv1.Image, error) {
	stream, err := c.PullImageWithProgress(ctx, req)
	if err != nil {
		return nil, err
	}
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return nil, errors.New("the daemon ended the pull without an image")
		}
		if err != nil {
			return nil, err
		}
		r.render(m.GetLayers())
		if m.GetImage() != nil {
			return m.GetImage(), nil
		}
	}
}

// pullRenderer draws the layers of a pull like docker pull: on a terminal
// one line per layer with a bar, redrawn in place; otherwise a line each
// time a layer changes state.
type pullRenderer struct {
	out io.Writer
	tty bool
	// drawn is how many lines the last terminal draw printed.
	drawn int
	// states is the last state printed per layer (not a terminal).
	states map[string]string
}

func newPullRenderer(out io.Writer) *pullRenderer {
	_, tty := terminalFd(out)
	return &pullRenderer{out: out, tty: tty, states: map[string]string{}}
}

func (r *pullRenderer) render(layers []*poddv1.LayerProgress) {
	if !r.tty {
		for _, l := range layers {
			if r.states[l.GetDigest()] != l.GetState() {
				r.states[l.GetDigest()] = l.GetState()
				fmt.Fprintf(r.out, "%s: %s\n", shortDigest(l.GetDigest()), l.GetState())
			}
		}
		return
	}
	var b strings.Builder
	if r.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", r.drawn) // back to the first layer's line
	}
	for _, l := range layers {
		b.WriteString("\x1b[2K") // clear the line
		fmt.Fprintf(&b, "%s: %s", shortDigest(l.GetDigest()), l.GetState())
		if l.GetState() == "Downloading" {
			fmt.Fprintf(&b, " %s %s/%s", progressBar(l.GetDone(), l.GetSize(), 30), humanBytes(l.GetDone()), humanBytes(l.GetSize()))
		}
		b.WriteString("\n")
	}
	r.drawn = len(layers)
	io.WriteString(r.out, b.String())
}

// shortDigest is the first 12 hex digits, as docker shows layers.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// progressBar is [====>    ] of width cells for done of total.
func progressBar(done, total int64, width int) string {
	n := 0
	if total > 0 {
		n = int(min(done, total) * int64(width) / total)
	}
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	return "[" + bar + "]"
}

// humanBytes is a size in decimal units, as docker pull prints them.
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fkB", float64(n)/1e3)
	}
	return fmt.Sprintf("%dB", n)
}
