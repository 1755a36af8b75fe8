package cri

import (
	"context"
	"errors"
	"log/slog"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// RemoveImage removes the image a name, repo digest or ID resolves to, with
// all its names (CRI removes images, not tags). An image that is not there
// is no error; an image a pod uses is refused (FailedPrecondition), as
// podd's own image removal refuses it.
func (s *imageService) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image: an image name or ID is required")
	}
	err := s.cfg.Images.Remove(ctx, ref)
	if errors.Is(err, image.ErrNotFound) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, toStatus(err)
	}
	slog.Info("Image removed", "image", ref, "via", "cri")
	return &runtimeapi.RemoveImageResponse{}, nil
}
