package daemon

import (
	"context"

	"github.com/podd-dev/podd/internal/errdefs"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// TopPods measures the running pods' CPU and memory from their cgroups.
func (a *api) TopPods(ctx context.Context, req *poddv1.TopPodsRequest) (*poddv1.TopPodsResponse, error) {
	window, err := topWindow(req.GetWindowMillis())
	if err != nil {
		return nil, toGRPC(err)
	}
	var pods []topPod
	if req.GetName() != "" {
		e, ok := a.d.pods.get(namespaceOr(req.GetNamespace()), req.GetName())
		if !ok {
			return nil, toGRPC(classed(ErrNotFound, "pods %q not found", req.GetName()))
		}
		pods = append(pods, topPod{pod: e.worker.Snapshot(), instances: e.worker.RunningInstances()})
	} else {
		for _, e := range a.d.pods.list() {
			if pod := e.worker.Snapshot(); matches(pod, req.GetNamespace(), "") {
				pods = append(pods, topPod{pod: pod, instances: e.worker.RunningInstances()})
			}
		}
	}
	usage, err := topUsage(ctx, a.d.cgroups, topTargets(a.d.deps.Layout.PodCgroup, pods), window)
	if err != nil {
		return nil, toGRPC(err)
	}
	if req.GetName() != "" && len(usage) == 0 {
		return nil, toGRPC(classed(errdefs.ErrUnavailable, "metrics not available for pod %s/%s: it is not running", pods[0].pod.Namespace, pods[0].pod.Name))
	}
	return &poddv1.TopPodsResponse{Pods: usage, WindowMillis: window.Milliseconds()}, nil
}
