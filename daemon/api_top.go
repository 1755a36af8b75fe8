package daemon

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// TopPods measures the running pods' CPU and memory from their cgroups.
func (a *api) TopPods(ctx context.Context, req *poddv1.TopPodsRequest) (*poddv1.TopPodsResponse, error) {
	window, err := topWindow(req.GetWindowMillis())
	if err != nil {
		return nil, toGRPC(err)
	}
	var pods []*corev1.Pod
	if req.GetName() != "" {
		e, ok := a.d.pods.get(namespaceOr(req.GetNamespace()), req.GetName())
		if !ok {
			return nil, toGRPC(classed(ErrNotFound, "pods %q not found", req.GetName()))
		}
		pods = append(pods, e.worker.Snapshot())
	} else {
		for _, e := range a.d.pods.list() {
			if pod := e.worker.Snapshot(); matches(pod, req.GetNamespace(), "") {
				pods = append(pods, pod)
			}
		}
	}
	usage, err := topUsage(ctx, a.d.cgroups, topTargets(a.d.cfg.CgroupParent, pods), window)
	if err != nil {
		return nil, toGRPC(err)
	}
	if req.GetName() != "" && len(usage) == 0 {
		return nil, toGRPC(classed(ErrUnavailable, "metrics not available for pod %s/%s: it is not running", pods[0].Namespace, pods[0].Name))
	}
	return &poddv1.TopPodsResponse{Pods: usage, WindowMillis: window.Milliseconds()}, nil
}
