package daemon

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/store"
)

// Resource names of the objects other than pods, as the API and the store
// name them.
const (
	resNamespaces = "namespaces"
	resConfigMaps = store.ResourceConfigMaps
	resSecrets    = store.ResourceSecrets
	resClaims     = store.ResourceClaims
)

// resourceOf is the resource of a kind ("" for Pod and unknown kinds).
func resourceOf(kind string) string {
	switch kind {
	case manifest.KindNamespace:
		return resNamespaces
	case manifest.KindConfigMap:
		return resConfigMaps
	case manifest.KindSecret:
		return resSecrets
	case manifest.KindPersistentVolumeClaim:
		return resClaims
	case manifest.KindService:
		return resServices
	case manifest.KindDeployment:
		return resDeployments
	case manifest.KindJob:
		return resJobs
	case manifest.KindDaemonSet:
		return resDaemonSets
	case manifest.KindCronJob:
		return resCronJobs
	}
	return ""
}

// objects is the daemon's table of namespaces and of the ConfigMaps,
// Secrets and claims in them. applyMu orders applies against the start of
// a namespace's deletion, so no pod or object lands in a namespace that is
// being emptied.
type objects struct {
	applyMu sync.Mutex

	mu         sync.Mutex
	namespaces map[string]*corev1.Namespace
	// byRes maps a resource to its objects by "namespace/name".
	byRes map[string]map[string]manifest.Object
	// gone is closed when a terminating namespace is removed.
	gone map[string]chan struct{}
}

func newObjects() *objects {
	o := &objects{namespaces: map[string]*corev1.Namespace{}, byRes: map[string]map[string]manifest.Object{}, gone: map[string]chan struct{}{}}
	for _, r := range store.Resources {
		o.byRes[r] = map[string]manifest.Object{}
	}
	return o
}

// namespace returns a copy of namespace ns.
func (o *objects) namespace(ns string) (*corev1.Namespace, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.namespaces[ns]
	if !ok {
		return nil, false
	}
	return n.DeepCopy(), true
}

// get returns a copy of an object of resource (namespaces included).
func (o *objects) get(resource, ns, name string) (manifest.Object, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if resource == resNamespaces {
		n, ok := o.namespaces[name]
		if !ok {
			return nil, false
		}
		return n.DeepCopy(), true
	}
	obj, ok := o.byRes[resource][podKey(ns, name)]
	if !ok {
		return nil, false
	}
	return obj.DeepCopyObject().(manifest.Object), true
}

// list returns copies of the objects of resource in ns ("" for all),
// sorted by namespace and name.
func (o *objects) list(resource, ns string) []manifest.Object {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []manifest.Object
	if resource == resNamespaces {
		for _, n := range o.namespaces {
			out = append(out, n.DeepCopy())
		}
	} else {
		for _, obj := range o.byRes[resource] {
			if ns == "" || obj.GetNamespace() == ns {
				out = append(out, obj.DeepCopyObject().(manifest.Object))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return podKey(out[i].GetNamespace(), out[i].GetName()) < podKey(out[j].GetNamespace(), out[j].GetName())
	})
	return out
}

// checkNamespace refuses new content in ns unless it exists and is not
// terminating, or is created by the same manifest (creating).
func (o *objects) checkNamespace(ns string, creating map[string]bool) error {
	o.mu.Lock()
	n, ok := o.namespaces[ns]
	o.mu.Unlock()
	switch {
	case ok && n.DeletionTimestamp != nil:
		return classed(ErrFailedPrecondition, "unable to create new content in namespace %s because it is being terminated", ns)
	case ok || creating[ns]:
		return nil
	}
	return classed(ErrNotFound, "namespaces %q not found", ns)
}

// applyObject stores one object other than a pod: created, configured
// (its UID and creation time kept) or unchanged. The caller holds applyMu.
func (d *Daemon) applyObject(obj manifest.Object) (ApplyResult, error) {
	kind := manifest.KindOf(obj)
	res := resourceOf(kind)
	old, exists := d.objects.get(res, obj.GetNamespace(), obj.GetName())
	result := ApplyResult{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	if exists {
		obj.SetUID(old.GetUID())
		obj.SetCreationTimestamp(old.GetCreationTimestamp())
	} else {
		obj.SetUID(types.UID(uuid.NewString()))
		obj.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	}
	if exists {
		carryWorkload(old, obj)
	} else {
		carryWorkload(nil, obj)
	}
	setStatus(obj)
	result.UID = string(obj.GetUID())
	if exists && sameJSON(old, obj) {
		result.Action = "unchanged"
		return result, nil
	}
	result.Action = "configured"
	if !exists {
		result.Action = "created"
	}
	if err := d.saveObject(obj, exists); err != nil {
		return ApplyResult{}, err
	}
	d.objects.mu.Lock()
	if ns, ok := obj.(*corev1.Namespace); ok {
		d.objects.namespaces[ns.Name] = ns
	} else {
		d.objects.byRes[res][podKey(obj.GetNamespace(), obj.GetName())] = obj
	}
	d.objects.mu.Unlock()
	if _, ok := obj.(*corev1.Service); ok {
		d.syncServicesNow(d.ctx)
	}
	if q := d.queueOf(kind); q != nil {
		q.add(podKey(obj.GetNamespace(), obj.GetName()))
	}
	// Never the object itself: a Secret's data must not reach a log.
	slog.Info("Object accepted", "kind", kind, "object", podKey(obj.GetNamespace(), obj.GetName()), "uid", obj.GetUID(), "action", result.Action)
	d.objectApplied(obj)
	return result, nil
}

// saveObject writes obj through the store; a new claim gets its volume
// first (removed again if the claim cannot be saved).
func (d *Daemon) saveObject(obj manifest.Object, exists bool) error {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return d.store.SaveNamespace(o)
	case *corev1.PersistentVolumeClaim:
		if _, err := d.store.EnsureClaimDir(o.Namespace, o.Name); err != nil {
			return err
		}
		if err := d.store.SaveObject(resClaims, o.Namespace, o.Name, o); err != nil {
			if !exists {
				if rerr := d.store.RemoveClaimDir(o.Namespace, o.Name); rerr != nil {
					return fmt.Errorf("%w (and %w)", err, rerr)
				}
			}
			return err
		}
		return nil
	}
	return d.store.SaveObject(resourceOf(manifest.KindOf(obj)), obj.GetNamespace(), obj.GetName(), obj)
}

// setStatus fills in what podd reports of an object: a namespace is
// Active, a claim Bound to its local volume with the requested capacity.
func setStatus(obj manifest.Object) {
	switch o := obj.(type) {
	case *corev1.Namespace:
		o.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	case *corev1.PersistentVolumeClaim:
		o.Status = corev1.PersistentVolumeClaimStatus{
			Phase:       corev1.ClaimBound,
			AccessModes: o.Spec.AccessModes,
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: o.Spec.Resources.Requests[corev1.ResourceStorage]},
		}
	}
}

func sameJSON(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && string(ja) == string(jb)
}
