package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podd-dev/podd/test/testutil"
)

// cleanupMounts unmounts whatever a failed test left below dir.
func cleanupMounts(t *testing.T, dir string) {
	t.Cleanup(func() {
		mps, err := mountPoints(dir)
		if err != nil {
			t.Errorf("read mounts: %v", err)
			return
		}
		for _, mp := range mps {
			_ = unix.Unmount(mp, unix.MNT_DETACH)
		}
	})
}

func TestPrepare_R92_MemoryEmptyDirIsSizedTmpfs(t *testing.T) {
	testutil.RequireRoot(t)
	podDir := t.TempDir()
	cleanupMounts(t, podDir)
	size := resource.MustParse("1Mi")
	pod := testPod(corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}})
	paths, err := Prepare(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["mem"]
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC {
		t.Fatalf("%s is not a tmpfs (type %#x)", dir, st.Type)
	}
	if total := int64(st.Blocks) * st.Bsize; total != 1<<20 {
		t.Errorf("tmpfs size %d, want %d", total, 1<<20)
	}
	if fi, _ := os.Stat(dir); fi == nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmpfs root mode %v, want 0777", fi.Mode())
	}
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prepare again (container restart): no second tmpfs over the first.
	if _, err := Prepare(context.Background(), pod, podDir); err != nil {
		t.Fatal(err)
	}
	if mps, _ := mountPoints(dir); len(mps) != 1 {
		t.Errorf("mounts at %s after a second Prepare: %v, want one", dir, mps)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Errorf("tmpfs content lost: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := Cleanup(context.Background(), podDir); err != nil {
			t.Fatalf("Cleanup #%d: %v", i+1, err)
		}
	}
	if mps, _ := mountPoints(podDir); len(mps) != 0 {
		t.Errorf("mounts left: %v", mps)
	}
	if _, err := os.Stat(VolumesDir(podDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volumes dir left: %v", err)
	}
}

// TestCleanup_NeverRemovesThroughAMount: a hostPath bind-mounted into an
// emptyDir (as Bidirectional propagation can do) is unmounted, not emptied.
func TestCleanup_NeverRemovesThroughAMount(t *testing.T) {
	testutil.RequireRoot(t)
	podDir := t.TempDir()
	cleanupMounts(t, podDir)
	host := t.TempDir()
	precious := filepath.Join(host, "precious")
	if err := os.WriteFile(precious, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := testPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	paths, err := Prepare(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(paths["data"], "bound")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(context.Background(), podDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Errorf("Cleanup removed a file through a bind mount: %v", err)
	}
	if _, err := os.Stat(VolumesDir(podDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volumes dir left: %v", err)
	}
}

func TestPrepare_FSGroupOwnsEmptyDir(t *testing.T) {
	testutil.RequireRoot(t)
	podDir := t.TempDir()
	gid := int64(4321)
	pod := testPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &gid}
	paths, err := Prepare(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(paths["data"], &st); err != nil {
		t.Fatal(err)
	}
	if st.Gid != uint32(gid) || st.Mode&unix.S_ISGID == 0 {
		t.Errorf("emptyDir gid %d mode %o, want gid %d with setgid", st.Gid, st.Mode, gid)
	}
}
