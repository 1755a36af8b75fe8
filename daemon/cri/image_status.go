package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/image-spec/identity"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// ImageStatus describes the image a name, repo digest or ID resolves to;
// an image that is not there is no error, only an empty answer (CRI).
// Verbose adds "info": the image's chain ID and config, as containerd
// reports them.
func (s *imageService) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image: an image name or ID is required")
	}
	img, err := s.cfg.Images.Get(ctx, ref)
	if errors.Is(err, image.ErrNotFound) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, toStatus(err)
	}
	all, err := s.cfg.Images.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	c := sameID(toCRIImages(all), img.ID)
	if c == nil {
		c = toCRIImage(img) // removed between the two reads
	}
	resp := &runtimeapi.ImageStatusResponse{Image: c}
	if req.GetVerbose() {
		info, err := s.verboseInfo(ctx, img)
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Info = map[string]string{"info": info}
	}
	return resp, nil
}

// verboseImageInfo is ImageStatus's verbose "info", shaped like
// containerd's.
type verboseImageInfo struct {
	ChainID   string          `json:"chainID"`
	ImageSpec imagespec.Image `json:"imageSpec"`
}

func (s *imageService) verboseInfo(ctx context.Context, img image.Image) (string, error) {
	raw, err := s.cfg.Images.RawConfig(ctx, img.Digest)
	if err != nil {
		return "", err
	}
	var info verboseImageInfo
	if err := json.Unmarshal(raw, &info.ImageSpec); err != nil {
		return "", fmt.Errorf("image %s: parse config: %w", img.ID, err)
	}
	if ids := info.ImageSpec.RootFS.DiffIDs; len(ids) > 0 {
		info.ChainID = identity.ChainID(ids).String()
	}
	b, err := json.Marshal(info)
	if err != nil {
		return "", fmt.Errorf("image %s: encode info: %w", img.ID, err)
	}
	return string(b), nil
}
