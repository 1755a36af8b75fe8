// Package cri is podd's CRI v1 edge: it serves runtime.v1.RuntimeService and
// runtime.v1.ImageService for crictl, critest and the kubelet, translating
// each call to the daemon's services and their errors to gRPC codes, one
// file per call, with no runtime logic of its own.
package cri
