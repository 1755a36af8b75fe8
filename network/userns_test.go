package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A pod in its own user namespace brings the netns its pause made there
// (NetnsFrom): Setup pins that one, CNI ADD wires it like a new one, and
// Teardown releases it.
func TestSetupAdoptsANetnsFromAUserNamespace(t *testing.T) {
	tn := newTestNet(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	src := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	var want unix.Stat_t
	if err := unix.Stat(src, &want); err != nil {
		t.Fatal(err)
	}
	id := "sbu" + randHex(t, 4)
	a, err := tn.m.Setup(context.Background(), SetupRequest{PodUID: "u" + id, Namespace: "ns1", Name: id, SandboxID: id, NetnsFrom: src})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	var got unix.Stat_t
	if err := unix.Stat(a.NetnsPath, &got); err != nil || got.Ino != want.Ino {
		t.Fatalf("pinned netns %s: inode %d (%v), want the process's %d", a.NetnsPath, got.Ino, err, want.Ino)
	}
	if len(a.IPs) != 1 || !tn.subnet.Contains(a.IPs[0]) {
		t.Fatalf("IPs = %v", a.IPs)
	}
	listenIn(t, a.NetnsPath, 8080)
	if err := dial(net.JoinHostPort(a.IPs[0].String(), "8080")); err != nil {
		t.Errorf("host cannot reach the sandbox: %v", err)
	}
	if err := tn.m.Teardown(context.Background(), id); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if _, err := os.Stat(a.NetnsPath); !os.IsNotExist(err) || ipReserved(t, tn, a.IPs[0]) {
		t.Errorf("after Teardown: pin %v, IP reserved %v", err, ipReserved(t, tn, a.IPs[0]))
	}
}
