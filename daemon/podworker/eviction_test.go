package podworker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podd-dev/podd/daemon/store"
)

// A disk emptyDir past its sizeLimit evicts the pod with the kubelet's
// message; Memory emptyDirs, volumes without a limit and volumes within it
// do not; a finished pod is never measured.
func TestCheckStorageEvictsOverSizeLimit(t *testing.T) {
	limit := resource.MustParse("1Mi")
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "free", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &limit}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}}},
	}}}
	pod.UID = "u1"
	layout := store.Layout{Root: t.TempDir()}
	w := &Worker{deps: &Deps{Layout: layout}, uid: "u1", key: "default/p", pod: pod, wake: make(chan struct{}, 1)}
	vols := filepath.Join(layout.PodDir("u1"), "volumes")
	write := func(vol string, n int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(vols, vol), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vols, vol, "data"), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("free", 3<<20)
	write("mem", 3<<20) // a tmpfs in real life: the kernel holds it to its size
	write("scratch", 512<<10)
	if w.CheckStorage(context.Background()) || w.eviction != nil {
		t.Fatalf("evicted within the limits: %+v", w.eviction)
	}

	w.state.Status.Phase = corev1.PodSucceeded
	write("scratch", 2<<20)
	if w.CheckStorage(context.Background()) {
		t.Fatal("a finished pod was evicted")
	}

	w.state.Status.Phase = corev1.PodRunning
	if !w.CheckStorage(context.Background()) {
		t.Fatal("2 MiB in a 1Mi emptyDir: not evicted")
	}
	if want := `Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".`; w.eviction == nil || w.eviction.Message != want {
		t.Fatalf("eviction %+v, want message %q", w.eviction, want)
	}
	select {
	case <-w.wake:
	default:
		t.Fatal("the worker loop was not woken")
	}
}
