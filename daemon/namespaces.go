package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/store"
)

// index puts loaded objects of one resource in its "namespace/name" map.
func index[T manifest.Object](m map[string]manifest.Object, objs []T) {
	for _, obj := range objs {
		m[podKey(obj.GetNamespace(), obj.GetName())] = obj
	}
}

// restoreObjects loads the namespaces and the objects in them, creates the
// default namespace when it is missing, and removes claim volumes whose
// claim is gone (a crash between the two steps of a claim's delete).
func (d *Daemon) restoreObjects() error {
	loaded, err := d.store.LoadObjects()
	if err != nil {
		return err
	}
	for _, q := range loaded.Bad {
		slog.Error("Object unreadable; moved aside and dropped", "file", q.File, "err", q.Err)
	}
	o := d.objects
	o.mu.Lock()
	for _, n := range loaded.Namespaces {
		o.namespaces[n.Name] = n
	}
	index(o.byRes[resConfigMaps], loaded.ConfigMaps)
	index(o.byRes[resSecrets], loaded.Secrets)
	index(o.byRes[resClaims], loaded.Claims)
	index(o.byRes[resServices], loaded.Services)
	index(o.byRes[resDeployments], loaded.Deployments)
	index(o.byRes[resReplicaSets], loaded.ReplicaSets)
	index(o.byRes[resJobs], loaded.Jobs)
	index(o.byRes[resDaemonSets], loaded.DaemonSets)
	index(o.byRes[resControllerRevisions], loaded.Revisions)
	index(o.byRes[resCronJobs], loaded.CronJobs)
	o.mu.Unlock()
	for _, c := range loaded.Claims {
		if _, err := d.store.EnsureClaimDir(c.Namespace, c.Name); err != nil {
			return err
		}
	}
	d.removeOrphanVolumes()
	return d.ensureNamespace(corev1.NamespaceDefault)
}

// removeOrphanVolumes deletes claim volumes without a claim.
func (d *Daemon) removeOrphanVolumes() {
	for _, n := range d.objects.list(resNamespaces, "") {
		dir := filepath.Dir(d.store.Layout.ClaimDir(n.GetName(), "x"))
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if _, ok := d.objects.get(resClaims, n.GetName(), e.Name()); ok {
				continue
			}
			if err := d.store.RemoveClaimDir(n.GetName(), e.Name()); err != nil {
				slog.Warn("Volume of a deleted claim not removed", "claim", podKey(n.GetName(), e.Name()), "err", err)
			}
		}
	}
}

// ensureNamespace creates namespace ns when it does not exist.
func (d *Daemon) ensureNamespace(ns string) error {
	if _, ok := d.objects.namespace(ns); ok {
		return nil
	}
	n := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: manifest.KindNamespace}, ObjectMeta: metav1.ObjectMeta{Name: ns}}
	_, err := d.applyObject(n)
	return err
}

// adoptNamespaces creates the namespaces of restored pods that have none
// (pods accepted before podd had namespaces) and resumes the deletion of
// namespaces that were terminating when the daemon stopped.
func (d *Daemon) adoptNamespaces() error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	for _, e := range d.pods.list() {
		if e.static != "" {
			continue
		}
		if err := d.ensureNamespace(e.worker.Snapshot().Namespace); err != nil {
			return err
		}
	}
	for _, n := range d.objects.list(resNamespaces, "") {
		if n.GetDeletionTimestamp() != nil {
			d.startNamespaceDeletion(n.GetName())
		}
	}
	return nil
}

// deleteNamespace marks ns Terminating and deletes what is in it in the
// background: its pods through the normal delete path (gracefully), then
// its objects and claim volumes, then the namespace. With wait it returns
// once the namespace is gone.
func (d *Daemon) deleteNamespace(ctx context.Context, ns string, wait bool) (string, error) {
	d.objects.applyMu.Lock()
	n, ok := d.objects.namespace(ns)
	if !ok {
		d.objects.applyMu.Unlock()
		return "", classed(ErrNotFound, "namespaces %q not found", ns)
	}
	if ns == corev1.NamespaceDefault {
		d.objects.applyMu.Unlock()
		return "", classed(ErrFailedPrecondition, "namespaces %q is forbidden: this namespace may not be deleted", ns)
	}
	var err error
	if n.DeletionTimestamp == nil {
		now := metav1.NewTime(time.Now().Truncate(time.Second))
		n.DeletionTimestamp = &now
		n.Status.Phase = corev1.NamespaceTerminating
		if err = d.store.SaveNamespace(n); err == nil {
			d.objects.mu.Lock()
			d.objects.namespaces[ns] = n
			d.objects.mu.Unlock()
			d.startNamespaceDeletion(ns)
			slog.Info("Namespace terminating", "namespace", ns)
		}
	}
	d.objects.mu.Lock()
	gone := d.objects.gone[ns]
	d.objects.mu.Unlock()
	d.objects.applyMu.Unlock()
	if err != nil {
		return "", err
	}
	if !wait || gone == nil {
		return string(n.UID), nil
	}
	select {
	case <-gone:
		return string(n.UID), nil
	case <-ctx.Done():
		return string(n.UID), fmt.Errorf("wait for namespace %q to be deleted: %w", ns, ctx.Err())
	}
}

// startNamespaceDeletion runs finishNamespace once per namespace. The
// caller holds applyMu, so no new content lands in ns meanwhile.
func (d *Daemon) startNamespaceDeletion(ns string) {
	d.objects.mu.Lock()
	if _, running := d.objects.gone[ns]; running {
		d.objects.mu.Unlock()
		return
	}
	gone := make(chan struct{})
	d.objects.gone[ns] = gone
	d.objects.mu.Unlock()
	var pods []*podEntry
	for _, e := range d.pods.list() {
		if e.static == "" && e.worker.Snapshot().Namespace == ns {
			pods = append(pods, e)
		}
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.finishNamespace(ns, pods); err != nil {
			// Stays Terminating; a daemon restart tries again.
			slog.Error("Namespace deletion stopped", "namespace", ns, "err", err)
			return
		}
		close(gone)
	}()
}

func (d *Daemon) finishNamespace(ns string, pods []*podEntry) error {
	for _, e := range pods {
		e.worker.Delete(nil)
	}
	for _, e := range pods {
		select {
		case <-e.worker.Done():
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
	d.objects.mu.Lock()
	for _, r := range store.Resources {
		for k, obj := range d.objects.byRes[r] {
			if obj.GetNamespace() == ns {
				delete(d.objects.byRes[r], k)
			}
		}
	}
	d.objects.mu.Unlock()
	if err := d.store.RemoveNamespace(ns); err != nil {
		return err
	}
	d.objects.mu.Lock()
	delete(d.objects.namespaces, ns)
	delete(d.objects.gone, ns)
	d.objects.mu.Unlock()
	d.syncServicesNow(d.ctx)
	slog.Info("Namespace deleted", "namespace", ns, "pods", len(pods))
	return nil
}

// deleteObject deletes a ConfigMap, Secret or claim (with its volume), or
// a namespace (deleteNamespace).
func (d *Daemon) deleteObject(ctx context.Context, resource, ns, name string, wait bool) (string, error) {
	if resource == resNamespaces {
		return d.deleteNamespace(ctx, name, wait)
	}
	if resource == resEndpoints {
		return "", classed(ErrFailedPrecondition, "endpoints %q follow their Service's selector: delete or change the Service", name)
	}
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	obj, ok := d.objects.get(resource, ns, name)
	if !ok {
		return "", classed(ErrNotFound, "%s %q not found", resource, name)
	}
	if file := obj.GetAnnotations()[podworker.AnnotationStaticSource]; file != "" {
		return "", classed(ErrFailedPrecondition, "%s %q is from the static manifest %s: remove it from that file to delete it", strings.ToLower(manifest.KindOf(obj)), name, file)
	}
	if workloadResources[resource] {
		// A workload goes with its pods.
		pods, err := d.deleteWorkload(obj)
		if err != nil || !wait {
			return string(obj.GetUID()), err
		}
		d.objects.applyMu.Unlock()
		defer d.objects.applyMu.Lock()
		for _, e := range pods {
			select {
			case <-e.gone:
			case <-ctx.Done():
				return string(obj.GetUID()), fmt.Errorf("wait for the pods of %s %q to be deleted: %w", strings.ToLower(manifest.KindOf(obj)), name, ctx.Err())
			}
		}
		return string(obj.GetUID()), nil
	}
	if resource == resClaims {
		// The pvc-protection finalizer of Kubernetes, as a refusal.
		if pod := d.claimUser(ns, name); pod != "" {
			return "", classed(ErrFailedPrecondition,
				"persistentvolumeclaims %q is in use by pod %q: delete the pod first", name, pod)
		}
	}
	if err := d.store.RemoveObject(resource, ns, name); err != nil {
		return "", err
	}
	d.objects.mu.Lock()
	delete(d.objects.byRes[resource], podKey(ns, name))
	d.objects.mu.Unlock()
	if resource == resClaims {
		if err := d.store.RemoveClaimDir(ns, name); err != nil {
			return "", err
		}
	}
	slog.Info("Object deleted", "resource", resource, "object", podKey(ns, name))
	if resource == resServices {
		d.syncServicesNow(ctx)
	}
	return string(obj.GetUID()), nil
}
