package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

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
		if res, ok := staticControllers[r.Kind]; ok {
			keys = append(keys, res+":"+podKey(r.Namespace, r.Name))
			continue
		}
		keys = append(keys, podKey(r.Namespace, r.Name))
	}
	return keys, nil
}

// DeleteStatic deletes the pods a file owned, gracefully.
func (s staticApplier) DeleteStatic(ctx context.Context, file string, keys []string) error {
	for _, k := range keys {
		if res, key, ok := strings.Cut(k, ":"); ok {
			if err := s.d.deleteStaticController(file, res, key); err != nil {
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
	for _, res := range staticControllers {
		for _, obj := range d.objects.list(res, "") {
			if file := obj.GetAnnotations()[podworker.AnnotationStaticSource]; file != "" {
				known[file] = append(known[file], res+":"+podKey(obj.GetNamespace(), obj.GetName()))
			}
		}
	}
	return known
}

// staticControllers are the kinds besides Pod a static manifest may hold,
// with their resource: a file's key for one is "<resource>:<namespace>/<name>".
var staticControllers = map[string]string{manifest.KindDeployment: resDeployments, manifest.KindJob: resJobs,
	manifest.KindDaemonSet: resDaemonSets, manifest.KindCronJob: resCronJobs}

// markStatic records on each workload (Deployment, Job, DaemonSet, CronJob) of a static manifest the
// file it came from (pods are marked as they are accepted).
func markStatic(docs []manifest.Document, file string) {
	for _, doc := range docs {
		if _, ok := staticControllers[manifest.KindOf(doc.Object)]; !ok {
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

// deleteStaticController deletes the workload key
// ("namespace/name") of static manifest file, with its pods.
func (d *Daemon) deleteStaticController(file, resource, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resource, ns, name)
	if !ok || obj.GetAnnotations()[podworker.AnnotationStaticSource] != file {
		return nil
	}
	_, err := d.deleteWorkload(obj)
	return err
}
