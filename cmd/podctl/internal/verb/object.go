//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package verb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// ObjectKind is a resource other than pods that podctl gets, describes and
// deletes: its API resource name, kind and whether it is namespaced.
type ObjectKind struct {
	Resource   string
	Kind       string
	Namespaced bool
}

var (
	kindNamespace = ObjectKind{"namespaces", "Namespace", false}
	kindConfigMap = ObjectKind{"configmaps", "ConfigMap", true}
	kindSecret    = ObjectKind{"secrets", "Secret", true}
	kindClaim     = ObjectKind{"persistentvolumeclaims", "PersistentVolumeClaim", true}
	kindService   = ObjectKind{"services", "Service", true}
	kindEndpoints = ObjectKind{"endpoints", "Endpoints", true}
	// KindDeployment is the kind scale and rollout act on.
	KindDeployment = ObjectKind{"deployments", "Deployment", true}
	kindReplicaSet = ObjectKind{"replicasets", "ReplicaSet", true}
	kindJob        = ObjectKind{"jobs", "Job", true}
	// KindDaemonSet is the other kind rollout acts on.
	KindDaemonSet = ObjectKind{"daemonsets", "DaemonSet", true}
	kindCronJob   = ObjectKind{"cronjobs", "CronJob", true}
	// kindControllerRevision are the revisions of DaemonSets.
	kindControllerRevision = ObjectKind{"controllerrevisions", "ControllerRevision", true}
)

// objectTypeNames are the spellings kubectl accepts for each kind.
var objectTypeNames = map[string]ObjectKind{
	"namespace": kindNamespace, "namespaces": kindNamespace, "ns": kindNamespace,
	"configmap": kindConfigMap, "configmaps": kindConfigMap, "cm": kindConfigMap,
	"secret": kindSecret, "secrets": kindSecret,
	"persistentvolumeclaim": kindClaim, "persistentvolumeclaims": kindClaim, "pvc": kindClaim,
	"service": kindService, "services": kindService, "svc": kindService,
	"endpoints": kindEndpoints, "ep": kindEndpoints,
	"deployment": KindDeployment, "deployments": KindDeployment, "deploy": KindDeployment,
	"deployment.apps": KindDeployment, "deployments.apps": KindDeployment,
	"replicaset": kindReplicaSet, "replicasets": kindReplicaSet, "rs": kindReplicaSet,
	"job": kindJob, "jobs": kindJob, "job.batch": kindJob, "jobs.batch": kindJob,
	"daemonset": KindDaemonSet, "daemonsets": KindDaemonSet, "ds": KindDaemonSet,
	"daemonset.apps": KindDaemonSet, "daemonsets.apps": KindDaemonSet,
	"controllerrevision": kindControllerRevision, "controllerrevisions": kindControllerRevision,
	"cronjob": kindCronJob, "cronjobs": kindCronJob, "cj": kindCronJob, "cronjob.batch": kindCronJob, "cronjobs.batch": kindCronJob,
}

// ParseObjectArgs reads "TYPE [NAME...]" or "TYPE/NAME..." for the object
// kinds. ok is false when the arguments name no object kind (they may name
// pods); mixing kinds is an error.
func ParseObjectArgs(args []string) (kind ObjectKind, names []string, ok bool, err error) {
	if len(args) == 0 {
		return ObjectKind{}, nil, false, nil
	}
	if k, found := objectTypeNames[strings.ToLower(args[0])]; found {
		return k, args[1:], true, nil
	}
	for i, a := range args {
		typ, name, slash := strings.Cut(a, "/")
		k, found := objectTypeNames[strings.ToLower(typ)]
		if !slash || !found {
			if i == 0 {
				return ObjectKind{}, nil, false, nil
			}
			return ObjectKind{}, nil, false, fmt.Errorf("%q: podctl takes names of one resource type at a time", a)
		}
		if i > 0 && k != kind {
			return ObjectKind{}, nil, false, fmt.Errorf("%q: podctl takes names of one resource type at a time", a)
		}
		if name == "" {
			return ObjectKind{}, nil, false, fmt.Errorf("arguments in resource/name form must have a single resource and name")
		}
		kind = k
		names = append(names, name)
	}
	return kind, names, true, nil
}

// decodeObject decodes the core/v1 JSON the daemon sends.
func decodeObject(m *poddv1.Object) (printers.Object, error) {
	var obj printers.Object
	switch m.GetKind() {
	case "Namespace":
		obj = &corev1.Namespace{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "Secret":
		obj = &corev1.Secret{}
	case "PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	case "Service":
		obj = &corev1.Service{}
	case "Endpoints":
		obj = &corev1.Endpoints{}
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "ReplicaSet":
		obj = &appsv1.ReplicaSet{}
	case "Job":
		obj = &batchv1.Job{}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "CronJob":
		obj = &batchv1.CronJob{}
	case "ControllerRevision":
		obj = &appsv1.ControllerRevision{}
	default:
		return nil, fmt.Errorf("decode object from daemon: unknown kind %q", m.GetKind())
	}
	if err := json.Unmarshal(m.GetJson(), obj); err != nil {
		return nil, fmt.Errorf("decode %s from daemon: %w", m.GetKind(), err)
	}
	return obj, nil
}

// listObjects returns every object of kind in ns ("" for all), following
// the server's pages.
func listObjects(ctx context.Context, c poddv1.PodServiceClient, kind ObjectKind, ns string) ([]printers.Object, error) {
	var out []printers.Object
	req := &poddv1.ListObjectsRequest{Resource: kind.Resource, Namespace: ns}
	for {
		resp, err := c.ListObjects(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, m := range resp.GetObjects() {
			obj, err := decodeObject(m)
			if err != nil {
				return nil, err
			}
			out = append(out, obj)
		}
		if resp.GetContinue() == "" {
			return out, nil
		}
		req.Continue = resp.GetContinue()
	}
}
