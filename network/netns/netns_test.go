package netns

import (
	"github.com/moby/sys/mountinfo"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

func TestCreateRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := Create(t.TempDir(), name); err == nil {
			t.Errorf("Create(%q) succeeded, want error", name)
		}
	}
}

// newPinDir returns a short pin dir under /tmp whose shared self-mount is
// undone at cleanup.
func newPinDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("/tmp", "pdns")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "netns")
	t.Cleanup(func() {
		names, _ := List(dir)
		for _, n := range names {
			_ = Remove(filepath.Join(dir, n))
		}
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		_ = os.RemoveAll(base)
	})
	return dir
}

func mounted(t *testing.T, path string) bool {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(path))
	if err != nil {
		t.Fatal(err)
	}
	return len(ms) > 0
}

func TestCreatePinRemove(t *testing.T) {
	testutil.RequireRoot(t)
	dir := newPinDir(t)

	path, err := Create(dir, "sb1")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !mounted(t, dir) {
		t.Errorf("pin dir %s is not a mount point", dir)
	}
	if !mounted(t, path) {
		t.Fatalf("pin %s is not mounted", path)
	}
	if _, err := Create(dir, "sb1"); err == nil {
		t.Errorf("second Create of the same pin succeeded")
	}
	if !mounted(t, path) {
		t.Fatalf("failed second Create removed the first pin")
	}
	// EnsureSharedDir again does not stack a second mount.
	if err := EnsureSharedDir(dir); err != nil {
		t.Fatal(err)
	}

	netNS, err := ns.GetNS(path)
	if err != nil {
		t.Fatalf("open pinned netns: %v", err)
	}
	defer netNS.Close()
	cur, err := ns.GetCurrentNS()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	var curStat, pinStat unix.Stat_t
	_ = unix.Fstat(int(cur.Fd()), &curStat)
	_ = unix.Fstat(int(netNS.Fd()), &pinStat)
	if curStat.Ino == pinStat.Ino {
		t.Fatalf("pinned netns is the host netns")
	}
	err = netNS.Do(func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if lo.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("lo is down in the new netns")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		return l.Close()
	})
	if err != nil {
		t.Fatalf("inside pinned netns: %v", err)
	}

	names, err := List(dir)
	if err != nil || !slices.Equal(names, []string{"sb1"}) {
		t.Fatalf("List = %q, %v; want [sb1]", names, err)
	}

	for i := range 2 {
		if err := Remove(path); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pin file still there: %v", err)
	}
	if mounted(t, path) {
		t.Errorf("pin still in mountinfo")
	}
	if data, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(data), path) {
		t.Errorf("mountinfo still names %s", path)
	}
}

// Interfaces reads the counters inside the pinned netns (not the host's),
// without loopback.
func TestInterfacesInPinnedNetns(t *testing.T) {
	testutil.RequireRoot(t)
	dir := newPinDir(t)
	path, err := Create(dir, "stats1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(path) })
	netNS, err := ns.GetNS(path)
	if err != nil {
		t.Fatal(err)
	}
	defer netNS.Close()
	if err := netNS.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "podd-stat0"}, PeerName: "podd-stat1"}
		if err := netlink.LinkAdd(v); err != nil {
			return err
		}
		return netlink.LinkSetUp(v)
	}); err != nil {
		t.Fatal(err)
	}
	ifs, err := Interfaces(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"podd-stat0", "podd-stat1"}) {
		t.Errorf("interfaces %v, want the veth pair made in the netns only", names)
	}
	if _, err := Interfaces(filepath.Join(dir, "gone")); err == nil {
		t.Error("Interfaces of a missing pin succeeded")
	}
}
