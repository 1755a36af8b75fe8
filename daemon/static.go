package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/podd-dev/podd/daemon/events"
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
		keys = append(keys, podKey(r.Namespace, r.Name))
	}
	return keys, nil
}

// DeleteStatic deletes the pods a file owned, gracefully.
func (s staticApplier) DeleteStatic(ctx context.Context, file string, keys []string) error {
	for _, k := range keys {
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
	return known
}
