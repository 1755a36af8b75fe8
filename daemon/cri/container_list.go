package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListContainers lists the CRI containers (never podd's own pods'),
// filtered by ID and sandbox ID (or unique-enough prefixes), state and
// labels.
func (s *runtimeService) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	f := req.GetFilter()
	resp := &runtimeapi.ListContainersResponse{Containers: []*runtimeapi.Container{}}
	for _, c := range cs {
		cfg := c.config()
		if !containerMatches(f, c, cfg) {
			continue
		}
		resp.Containers = append(resp.Containers, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: c.SandboxID, Metadata: cfg.GetMetadata(),
			Image: s.imageSpec(ctx, c, cfg), ImageRef: c.ImageRef, ImageId: c.ImageID,
			State: c.State, CreatedAt: c.CreatedAt.UnixNano(),
			Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		})
	}
	return resp, nil
}

func containerMatches(f *runtimeapi.ContainerFilter, c Container, cfg *runtimeapi.ContainerConfig) bool {
	if f == nil {
		return true
	}
	if f.GetId() != "" && !strings.HasPrefix(c.ID, f.GetId()) {
		return false
	}
	if f.GetPodSandboxId() != "" && !strings.HasPrefix(c.SandboxID, f.GetPodSandboxId()) {
		return false
	}
	if f.GetState() != nil && f.GetState().GetState() != c.State {
		return false
	}
	for k, v := range f.GetLabelSelector() {
		if got, ok := cfg.GetLabels()[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// imageSpec is the image a container shows: the first tag of its image
// (as containerd shows it), else the image as asked.
func (s *runtimeService) imageSpec(ctx context.Context, c Container, cfg *runtimeapi.ContainerConfig) *runtimeapi.ImageSpec {
	sp := &runtimeapi.ImageSpec{Image: c.Image, Annotations: cfg.GetImage().GetAnnotations(), UserSpecifiedImage: cfg.GetImage().GetUserSpecifiedImage()}
	if img, err := s.cfg.Images.Get(ctx, c.ImageID); err == nil && len(img.Refs) > 0 {
		sp.Image = img.Refs[0]
	}
	return sp
}
