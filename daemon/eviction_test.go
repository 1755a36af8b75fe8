package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The storage check evicts a pod whose disk emptyDir is past its
// sizeLimit (the kubelet's emptyDirLimitEviction): Failed, reason Evicted,
// its containers killed; the pods within their limits run on.
func TestCheckStorageEvictsOverLimit(t *testing.T) {
	d := startTestDaemon(t)
	withLimit := func(name string) string {
		return podYAML(name) + "    volumeMounts:\n    - name: scratch\n      mountPath: /scratch\n" +
			"  volumes:\n  - name: scratch\n    emptyDir:\n      sizeLimit: 1Mi\n"
	}
	over := d.mustApply(t, withLimit("over"))[0].UID
	within := d.mustApply(t, withLimit("within"))[0].UID
	eventually(t, "both running", 10*time.Second, func() bool { return d.running("over") && d.running("within") })
	for uid, size := range map[string]int{over: 2 << 20, within: 10} {
		dir := filepath.Join(d.deps.Layout.PodDir(uid), "volumes", "scratch")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.checkStorage(ctx, 20*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	eventually(t, "over evicted", 10*time.Second, func() bool {
		p := d.pod("over")
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
	if e, _ := d.pods.get("default", "within"); e.worker.CheckStorage(context.Background()) {
		t.Error("a pod within its limit was evicted")
	}
	if p := d.pod("within"); p.Status.Phase != corev1.PodRunning {
		t.Errorf("within its limit: phase %s", p.Status.Phase)
	}
}
