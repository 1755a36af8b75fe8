//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package daemon

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/manifest"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// checkResource refuses a resource the object RPCs do not serve.
func checkResource(resource string) error {
	switch resource {
	case resNamespaces, resConfigMaps, resSecrets, resClaims, resServices, resEndpoints:
		return nil
	case resDeployments, resReplicaSets, resJobs, resDaemonSets, resControllerRevisions, resCronJobs:
		return nil
	}
	return classed(ErrNotFound, "the server doesn't have a resource type %q", resource)
}

func objectMessage(obj manifest.Object) (*poddv1.Object, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	kind := manifest.KindOf(obj)
	if _, ok := obj.(*corev1.Endpoints); ok {
		kind = "Endpoints" // derived, never in a manifest
	}
	if kind == "" {
		// Kinds the daemon writes itself (ReplicaSets, ControllerRevisions)
		// carry their TypeMeta.
		kind = obj.GetObjectKind().GroupVersionKind().Kind
	}
	return &poddv1.Object{Kind: kind, Json: data}, nil
}

func (a *api) GetObject(ctx context.Context, req *poddv1.GetObjectRequest) (*poddv1.Object, error) {
	if err := checkResource(req.GetResource()); err != nil {
		return nil, toGRPC(err)
	}
	obj, ok := a.d.lookupObject(req.GetResource(), namespaceOr(req.GetNamespace()), req.GetName())
	if !ok {
		return nil, toGRPC(classed(ErrNotFound, "%s %q not found", req.GetResource(), req.GetName()))
	}
	m, err := objectMessage(obj)
	return m, toGRPC(err)
}

// ListObjects returns a page of objects in key order, like ListPods.
func (a *api) ListObjects(ctx context.Context, req *poddv1.ListObjectsRequest) (*poddv1.ListObjectsResponse, error) {
	if err := checkResource(req.GetResource()); err != nil {
		return nil, toGRPC(err)
	}
	resp := &poddv1.ListObjectsResponse{}
	size, last := 0, ""
	for _, obj := range a.d.listObjects(req.GetResource(), req.GetNamespace()) {
		key := podKey(obj.GetNamespace(), obj.GetName())
		if key <= req.GetContinue() {
			continue
		}
		m, err := objectMessage(obj)
		if err != nil {
			return nil, toGRPC(err)
		}
		full := req.GetLimit() > 0 && len(resp.Objects) >= int(req.GetLimit())
		if len(resp.Objects) > 0 && (full || size+len(m.Json) > listPageBytes) {
			resp.Continue = last
			break
		}
		size, last = size+len(m.Json), key
		resp.Objects = append(resp.Objects, m)
	}
	return resp, nil
}

func (a *api) DeleteObject(ctx context.Context, req *poddv1.DeleteObjectRequest) (*poddv1.DeleteObjectResponse, error) {
	if err := checkResource(req.GetResource()); err != nil {
		return nil, toGRPC(err)
	}
	uid, err := a.d.deleteObject(ctx, req.GetResource(), namespaceOr(req.GetNamespace()), req.GetName(), req.GetWait())
	if err != nil {
		return nil, toGRPC(err)
	}
	return &poddv1.DeleteObjectResponse{Uid: uid}, nil
}
