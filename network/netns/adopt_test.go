package netns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// Adopt pins the netns a process made in its own user namespace (a pod's
// pause): the pin outlives the process, its loopback is up, and Remove
// releases it.
func TestAdoptPinsAProcessNetns(t *testing.T) {
	testutil.RequireRoot(t)
	dir := newPinDir(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	var want unix.Stat_t
	if err := unix.Stat(src, &want); err != nil {
		t.Fatal(err)
	}
	path, err := Adopt(dir, "sb1", src)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	var got unix.Stat_t
	if err := unix.Stat(path, &got); err != nil || got.Ino != want.Ino || !Pinned(path) {
		t.Fatalf("pin %s: inode %d (%v), want the process's netns %d", path, got.Ino, err, want.Ino)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(vnetns.NsHandle(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo in the adopted netns: %v, %v; want up", lo, err)
	}
	if _, err := Adopt(dir, "sb1", src); err == nil {
		t.Error("second Adopt of the same pin succeeded")
	}
	if err := Remove(path); err != nil || Pinned(path) {
		t.Fatalf("Remove: %v (pinned: %v)", err, Pinned(path))
	}
}
