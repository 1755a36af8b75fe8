package daemon

import (
	"context"
	"runtime"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/internal/version"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// api serves poddv1.PodService; it is the only place errors become codes.
type api struct {
	poddv1.UnimplementedPodServiceServer
	d *Daemon
}

// publishedMessage is the API message of a published pod, with the JSON
// the worker encoded once for every reader (lists and watches alike).
func publishedMessage(p *podworker.Published) (*poddv1.Pod, error) {
	data, err := p.JSON()
	if err != nil {
		return nil, err
	}
	return &poddv1.Pod{Json: data, StaticSource: p.Pod.Annotations[podworker.AnnotationStaticSource]}, nil
}

func (a *api) Apply(ctx context.Context, req *poddv1.ApplyRequest) (*poddv1.ApplyResponse, error) {
	// Most applies make pods: the kernel's wait before the first cgroup
	// migration runs beside the manifest's parsing and persisting.
	a.d.warmMigrations()
	source := req.GetSource()
	if source == "" {
		source = "<request>"
	}
	results, warnings, err := a.d.apply(ctx, req.GetManifest(), source, "")
	if err != nil {
		return nil, toGRPC(err)
	}
	resp := &poddv1.ApplyResponse{Warnings: warnings}
	for _, r := range results {
		resp.Results = append(resp.Results, &poddv1.ApplyResult{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Uid: r.UID, Action: r.Action})
	}
	return resp, nil
}

func namespaceOr(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func (a *api) GetPod(ctx context.Context, req *poddv1.GetPodRequest) (*poddv1.Pod, error) {
	e, ok := a.d.pods.get(namespaceOr(req.GetNamespace()), req.GetName())
	if !ok {
		return nil, toGRPC(classed(ErrNotFound, "pods %q not found", req.GetName()))
	}
	m, err := publishedMessage(e.worker.Published())
	return m, toGRPC(err)
}

// ListPods returns a page of pods in key order; its continue token is the
// key of the last pod returned. It copies no pod and waits for no worker:
// it sends the published snapshots as they are.
func (a *api) ListPods(ctx context.Context, req *poddv1.ListPodsRequest) (*poddv1.ListPodsResponse, error) {
	entries := a.d.pods.list()
	pods := make([]*podworker.Published, 0, len(entries))
	for _, e := range entries {
		pods = append(pods, e.worker.Published())
	}
	page, next, err := listPage(pods, req.GetContinue(), req.GetLimit(),
		func(p *podworker.Published) string { return podKey(p.Pod.Namespace, p.Pod.Name) },
		func(p *podworker.Published) bool { return matches(p.Pod, req.GetNamespace(), req.GetName()) },
		publishedMessage)
	if err != nil {
		return nil, toGRPC(err)
	}
	return &poddv1.ListPodsResponse{Pods: page, Continue: next}, nil
}

func matches(pod *corev1.Pod, ns, name string) bool {
	return (ns == "" || pod.Namespace == ns) && (name == "" || pod.Name == name)
}

// WatchPods sends every matching pod as ADDED, then each change.
func (a *api) WatchPods(req *poddv1.ListPodsRequest, stream poddv1.PodService_WatchPodsServer) error {
	ch, stop := a.d.pods.watch()
	defer stop()
	var listed []podChange
	for _, e := range a.d.pods.list() {
		listed = append(listed, podChange{typ: "ADDED", pub: e.worker.Published()})
	}
	keep := func(c podChange) bool { return matches(c.pub.Pod, req.GetNamespace(), req.GetName()) }
	// Every watcher sends the JSON the pod's snapshot encoded once.
	return serveWatch(stream.Context(), listed, ch, keep, func(c podChange) error {
		m, err := publishedMessage(c.pub)
		if err != nil {
			return toGRPC(err)
		}
		return stream.Send(&poddv1.PodEvent{Type: c.typ, Pod: m})
	})
}

func (a *api) DeletePod(ctx context.Context, req *poddv1.DeletePodRequest) (*poddv1.DeletePodResponse, error) {
	uid, err := a.d.deletePod(ctx, namespaceOr(req.GetNamespace()), req.GetName(), req.GracePeriodSeconds, req.GetWait(), req.GetForce())
	if err != nil {
		return nil, toGRPC(err)
	}
	return &poddv1.DeletePodResponse{Uid: uid}, nil
}

func (a *api) Version(ctx context.Context, _ *poddv1.VersionRequest) (*poddv1.VersionResponse, error) {
	return &poddv1.VersionResponse{Version: version.Version, ApiVersion: version.APIVersion, GoVersion: runtime.Version()}, nil
}

func containerNames(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
