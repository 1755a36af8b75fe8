package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/staticpods"
)

// staticApplier lets the static pod watcher drive the daemon.
type staticApplier struct{ d *Daemon }

var _ staticpods.Applier = staticApplier{}

// ApplyStatic applies a manifest file's pods, named with the node suffix.
func (s staticApplier) ApplyStatic(ctx context.Context, file string, data []byte) ([]string, error) {
	results, warnings, err := s.d.apply(ctx, data, file, file)
	for _, w := range warnings {
		slog.Warn("Static pod manifest", "file", file, "warning", w)
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, r := range results {
		if r.Kind == manifest.KindDeployment {
			keys = append(keys, staticDeploymentKey+podKey(r.Namespace, r.Name))
			continue
		}
		keys = append(keys, podKey(r.Namespace, r.Name))
	}
	return keys, nil
}

// DeleteStatic deletes the pods a file owned, gracefully.
func (s staticApplier) DeleteStatic(ctx context.Context, file string, keys []string) error {
	for _, k := range keys {
		if key, ok := strings.CutPrefix(k, staticDeploymentKey); ok {
			if err := s.d.deleteStaticDeployment(ctx, file, key); err != nil {
				return err
			}
			continue
		}
		ns, name, _ := strings.Cut(k, "/")
		e, ok := s.d.pods.get(ns, name)
		if !ok || e.static != file {
			continue
		}
		e.worker.Delete(nil)
		slog.Info("Static pod removed from its file", "pod", k, "file", file)
	}
	return nil
}

// ReportStatic records a broken manifest file; its pods are left alone.
func (s staticApplier) ReportStatic(file string, err error) {
	slog.Warn("Static pod manifest is broken; its pods are left as they were", "file", file, "err", err)
	s.d.events.Record(events.Event{
		Namespace: "default", Type: events.Warning, Reason: "FailedStaticPod", Object: file,
		Message: fmt.Sprintf("static pod manifest %s: %v", file, err),
	})
}

// staticName is a static pod's name: the manifest's name with the node name
// as suffix, as the kubelet does.
func (d *Daemon) staticName(name string) string {
	return name + "-" + strings.ToLower(d.cfg.NodeName)
}

// knownStatic maps each static manifest file to the pods it owns now.
func (d *Daemon) knownStatic() map[string][]string {
	known := map[string][]string{}
	for _, e := range d.pods.list() {
		if e.static != "" {
			p := e.worker.Snapshot()
			known[e.static] = append(known[e.static], podKey(p.Namespace, p.Name))
		}
	}
	for _, obj := range d.objects.list(resDeployments, "") {
		if file := obj.GetAnnotations()[podworker.AnnotationStaticSource]; file != "" {
			known[file] = append(known[file], staticDeploymentKey+podKey(obj.GetNamespace(), obj.GetName()))
		}
	}
	return known
}

// staticDeploymentKey prefixes the key of a static manifest's Deployment
// among its pods' keys.
const staticDeploymentKey = "deployment:"

// markStatic records on each Deployment of a static manifest the file it
// came from (pods are marked as they are accepted).
func markStatic(docs []manifest.Document, file string) {
	for _, doc := range docs {
		if manifest.KindOf(doc.Object) != manifest.KindDeployment {
			continue
		}
		a := doc.Object.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[podworker.AnnotationStaticSource] = file
		doc.Object.SetAnnotations(a)
	}
}

// deleteStaticDeployment deletes the Deployment key ("namespace/name") of
// static manifest file, with its pods.
func (d *Daemon) deleteStaticDeployment(ctx context.Context, file, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resDeployments, ns, name)
	if !ok || obj.GetAnnotations()[podworker.AnnotationStaticSource] != file {
		return nil
	}
	_, err := d.deleteDeployment(obj.(*appsv1.Deployment))
	return err
}
