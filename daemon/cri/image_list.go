package cri

import (
	"context"
	"errors"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// ListImages lists the stored images; a filter naming an image (by name,
// repo digest or ID) keeps that one only.
func (s *imageService) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	imgs, err := s.listImages(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListImagesResponse{Images: imgs}, nil
}

func (s *imageService) listImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	all, err := s.cfg.Images.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	imgs := toCRIImages(all)
	ref := filter.GetImage().GetImage()
	if ref == "" {
		return imgs, nil
	}
	img, err := s.cfg.Images.Get(ctx, ref)
	if errors.Is(err, image.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, toStatus(err)
	}
	if c := sameID(imgs, img.ID); c != nil {
		return []*runtimeapi.Image{c}, nil
	}
	return nil, nil
}
