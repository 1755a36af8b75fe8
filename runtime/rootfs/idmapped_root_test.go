package rootfs_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/rootfs"
	"github.com/podd-dev/podd/test/testutil"
)

func owner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// The rootfs of a container in a user namespace: the image's files (root's
// on the host) show as the namespace root's host IDs, so does the root
// dir; a write lands in the upper dir with the writer's host IDs; the
// idmapped layer mounts are gone once the overlay is up, and the layers
// still count as in use.
func TestIDMappedRootfs(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	base := t.TempDir()
	s, err := image.Open(filepath.Join(base, "images"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := s.Layers(ctx, twoLayerImage(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ids := &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: 65536}}, GIDs: []idmap.Range{{ContainerID: 0, HostID: 200000, Size: 65536}}}
	ctr := filepath.Join(base, "ctr")
	t.Cleanup(func() { rootfs.Unmount(ctr) })
	merged, err := rootfs.Mount(layers, ctr, ids)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := rootfs.Mount(layers, ctr, ids); err != nil || again != merged {
		t.Fatalf("second Mount = %q, %v; want %q", again, err, merged)
	}
	if n := len(mountsUnder(t, ctr)); n != 1 {
		t.Fatalf("%d mounts under %s, want the overlay only", n, ctr)
	}
	for _, p := range []string{"", "etc/motd", "bin/busybox"} {
		if u, g := owner(t, filepath.Join(merged, p)); u != 100000 || g != 200000 {
			t.Errorf("/%s is %d:%d, want 100000:200000", p, u, g)
		}
	}
	// A write by the container's uid 1000 (host 101000).
	f := filepath.Join(merged, "etc/new")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(f, 101000, 201000); err != nil {
		t.Fatal(err)
	}
	if u, g := owner(t, filepath.Join(rootfs.UpperDir(ctr), "etc/new")); u != 101000 || g != 201000 {
		t.Errorf("upper etc/new is %d:%d, want 101000:201000", u, g)
	}
	inUse, err := rootfs.LayersInUse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if !slices.ContainsFunc(inUse, func(u string) bool { return filepath.Base(u) == filepath.Base(l) }) {
			t.Errorf("layer %s not in use (in use: %v)", l, inUse)
		}
	}
	if err := rootfs.Unmount(ctr); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("layer %s after Unmount: %v", l, err)
		}
	}
}

// A read-only image view in a user namespace shows the image's files as
// the namespace root's.
func TestIDMappedView(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	base := t.TempDir()
	s, err := image.Open(filepath.Join(base, "images"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := s.Layers(ctx, twoLayerImage(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ids := &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: 65536}}, GIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: 65536}}}
	for _, ls := range [][]string{layers, layers[:1]} {
		dir := filepath.Join(base, "view", filepath.Base(ls[len(ls)-1]))
		t.Cleanup(func() { rootfs.Unmount(dir) })
		view, err := rootfs.MountView(ls, dir, ids)
		if err != nil {
			t.Fatal(err)
		}
		if u, g := owner(t, filepath.Join(view, "bin/busybox")); u != 100000 || g != 100000 {
			t.Errorf("view of %d layers: bin/busybox is %d:%d, want 100000:100000", len(ls), u, g)
		}
		if n := len(mountsUnder(t, dir)); n != 1 {
			t.Errorf("view of %d layers: %d mounts under %s, want 1", len(ls), n, dir)
		}
	}
}

// This kernel (6.x) mounts a rootfs over idmapped layers; the probe
// leaves nothing behind, not even what an interrupted probe left.
func TestProbeIDMapped(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, ".idmap-probe-123")
	if err := os.MkdirAll(filepath.Join(stale, "lower"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := rootfs.ProbeIDMapped(dir); err != nil {
		t.Fatalf("ProbeIDMapped: %v", err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("left in %s: %v (%v)", dir, ents, err)
	}
	if n := len(mountsUnder(t, dir)); n != 0 {
		t.Errorf("%d mounts left under %s", n, dir)
	}
}

// A probe a kill cut short leaves its scratch dir mounted; the next
// daemon start removes it before anything probes again.
func TestRemoveProbeLeftovers(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	left := filepath.Join(dir, ".idmap-probe-123", "ctr", "merged")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", left, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(left, syscall.MNT_DETACH) })
	rootfs.RemoveProbeLeftovers(dir)
	if _, err := os.Stat(filepath.Join(dir, ".idmap-probe-123")); !os.IsNotExist(err) {
		t.Errorf("probe leftover still there: %v", err)
	}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(data), left) {
		t.Errorf("probe leftover still mounted at %s", left)
	}
}
