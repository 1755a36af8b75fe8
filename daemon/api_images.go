package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/image"
)

func imageMessage(img image.Image) *poddv1.Image {
	return &poddv1.Image{Refs: img.Refs, Digest: img.Digest, Id: img.ID, Size: img.Size, CreatedUnix: img.Created.Unix()}
}

func imageError(err error) error {
	if errors.Is(err, image.ErrNotFound) {
		return classed(ErrNotFound, "%w", err)
	}
	return err
}

func (a *api) ImportImage(ctx context.Context, req *poddv1.ImportImageRequest) (*poddv1.ImportImageResponse, error) {
	if !filepath.IsAbs(req.GetPath()) {
		return nil, toGRPC(classed(ErrInvalidArgument, "path: Invalid value: %q: must be absolute", req.GetPath()))
	}
	imgs, err := a.d.images.Import(ctx, req.GetPath(), req.GetName())
	if err != nil {
		return nil, toGRPC(classed(ErrInvalidArgument, "import image from %s: %w", req.GetPath(), err))
	}
	resp := &poddv1.ImportImageResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, imageMessage(img))
	}
	return resp, nil
}

func (a *api) ListImages(ctx context.Context, _ *poddv1.ListImagesRequest) (*poddv1.ListImagesResponse, error) {
	imgs, err := a.d.images.List(ctx)
	if err != nil {
		return nil, toGRPC(err)
	}
	resp := &poddv1.ListImagesResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, imageMessage(img))
	}
	return resp, nil
}

func (a *api) PullImage(ctx context.Context, req *poddv1.PullImageRequest) (*poddv1.PullImageResponse, error) {
	img, err := a.pull(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	return &poddv1.PullImageResponse{Image: imageMessage(img)}, nil
}

// PullImageWithProgress sends the layers' progress whenever it changed
// since the last send (a slow client gets fewer, newer messages: the pull
// never waits for it), then the image.
func (a *api) PullImageWithProgress(req *poddv1.PullImageRequest, stream poddv1.PodService_PullImageWithProgressServer) error {
	ctx := stream.Context()
	var (
		mu      sync.Mutex
		layers  []*poddv1.LayerProgress
		index   = map[string]int{}
		changed = make(chan struct{}, 1)
	)
	progress := func(p image.LayerProgress) {
		mu.Lock()
		i, ok := index[p.Digest]
		if !ok {
			i = len(layers)
			index[p.Digest] = i
			layers = append(layers, nil)
		}
		layers[i] = &poddv1.LayerProgress{Digest: p.Digest, Size: p.Size, Done: p.Done, State: p.State}
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	snapshot := func() *poddv1.PullImageProgress {
		mu.Lock()
		defer mu.Unlock()
		return &poddv1.PullImageProgress{Layers: slices.Clone(layers)}
	}
	type result struct {
		img image.Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		img, err := a.pull(ctx, req, progress)
		done <- result{img, err}
	}()
	for {
		select {
		case <-changed:
			if err := stream.Send(snapshot()); err != nil {
				<-done // the pull ends with ctx
				return err
			}
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			last := snapshot()
			last.Image = imageMessage(r.img)
			return stream.Send(last)
		}
	}
}

// pull pulls req's image, recording the metrics; errors are gRPC statuses.
func (a *api) pull(ctx context.Context, req *poddv1.PullImageRequest, progress image.ProgressFunc) (image.Image, error) {
	if req.GetRef() == "" {
		return image.Image{}, toGRPC(classed(ErrInvalidArgument, "ref: Required value"))
	}
	start := time.Now()
	img, err := a.d.images.Pull(ctx, req.GetRef(), image.PullOptions{Insecure: req.GetInsecure(), Progress: progress})
	a.d.metrics.ImagePulled(img.Size, time.Since(start), err)
	if err != nil {
		return image.Image{}, toGRPC(imageError(err))
	}
	return img, nil
}

func (a *api) RemoveImage(ctx context.Context, req *poddv1.RemoveImageRequest) (*poddv1.RemoveImageResponse, error) {
	if req.GetRef() == "" {
		return nil, toGRPC(classed(ErrInvalidArgument, "ref: Required value"))
	}
	rm, layers, err := a.d.removeImage(ctx, req.GetRef())
	if err != nil {
		return nil, toGRPC(imageError(err))
	}
	return &poddv1.RemoveImageResponse{Untagged: rm.Untagged, Deleted: rm.Deleted, LayersRemoved: int32(layers)}, nil
}

func (a *api) PruneImages(ctx context.Context, _ *poddv1.PruneImagesRequest) (*poddv1.PruneImagesResponse, error) {
	deleted, layers, err := a.d.pruneImages(ctx)
	if err != nil {
		return nil, toGRPC(imageError(err))
	}
	resp := &poddv1.PruneImagesResponse{LayersRemoved: int32(layers)}
	for _, img := range deleted {
		resp.Deleted = append(resp.Deleted, imageMessage(img))
	}
	return resp, nil
}
