package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// kubeAPIVersion is the version of the kubelet's runtime API, as every CRI
// runtime answers it.
const kubeAPIVersion = "0.1.0"

// Version names the runtime and the CRI version it serves.
func (s *runtimeService) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version:           kubeAPIVersion,
		RuntimeName:       "podd",
		RuntimeVersion:    s.cfg.Version,
		RuntimeApiVersion: "v1",
	}, nil
}
