package holder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// A holder with a user namespace of its own runs in it as its user (the
// host ID that user maps to), with no capability and no_new_privs, in new
// network, UTS, IPC and PID namespaces owned by it, with the hostname and
// the sysctls set there (the IPC ones too, which only the namespace's root
// may write) and not on the host, in its cgroup.
func TestStartInUserNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	pc := usernsHolderConfig()
	pc.Args = []string{"/bin/sleep", "300"}
	pc.Hostname = "userns-holder"
	pc.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "7", "kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "17"}
	pc.CgroupPath = fmt.Sprintf("/podd-holder-test-%d", os.Getpid())
	pc.LogPath = filepath.Join(t.TempDir(), "pause.log")
	cfg, err := FromContainerConfig(pc, 0)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	h, err := Start(cfg, func(step string) { steps = append(steps, step) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Signal(unix.SIGKILL, false)
		_, _ = h.Wait()
		if err := h.Destroy(); err != nil {
			t.Error(err)
		}
	})
	if strings.Join(steps, " ") != "cgroup start" {
		t.Errorf("steps %v", steps)
	}
	proc := fmt.Sprintf("/proc/%d/", h.Pid())
	status := readFile(t, proc+"status")
	for _, want := range []string{"Uid:\t165535\t165535\t165535\t165535", "Gid:\t265535\t265535\t265535\t265535",
		"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("holder status lacks %q:\n%s", want, status)
		}
	}
	if m := strings.Fields(readFile(t, proc+"uid_map")); strings.Join(m, " ") != "0 100000 65536" {
		t.Errorf("uid_map %v", m)
	}
	if s := strings.TrimSpace(readFile(t, proc+"setgroups")); s != "allow" {
		t.Errorf("setgroups %q, want allow (containers joining get their groups)", s)
	}
	for _, ns := range []string{"user", "net", "uts", "ipc", "pid"} {
		host, _ := os.Readlink("/proc/1/ns/" + ns)
		its, err := os.Readlink(proc + "ns/" + ns)
		if err != nil || its == host {
			t.Errorf("namespace %s: holder's %q (%v), init's %q: want a new one", ns, its, err, host)
		}
	}
	var got struct{ hostname, port, shm, mq string }
	err = onThrowawayThread(func() error {
		for _, ns := range []struct {
			name string
			typ  int
		}{{"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}} {
			if err := setns(proc+"ns/"+ns.name, ns.typ); err != nil {
				return err
			}
		}
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return err
		}
		got.hostname = unix.ByteSliceToString(u.Nodename[:])
		got.port = strings.TrimSpace(readFile(t, "/proc/sys/net/ipv4/ip_unprivileged_port_start"))
		got.shm = strings.TrimSpace(readFile(t, "/proc/sys/kernel/shm_rmid_forced"))
		got.mq = strings.TrimSpace(readFile(t, "/proc/sys/fs/mqueue/msg_max"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.hostname != "userns-holder" || got.port != "7" || got.shm != "1" || got.mq != "17" {
		t.Errorf("in the holder's namespaces: hostname %q, ip_unprivileged_port_start %q, shm_rmid_forced %q, mqueue msg_max %q; want userns-holder, 7, 1, 17",
			got.hostname, got.port, got.shm, got.mq)
	}
	if host, _ := os.Hostname(); host == "userns-holder" {
		t.Error("the host's hostname changed")
	}
	if p := strings.TrimSpace(readFile(t, "/proc/sys/net/ipv4/ip_unprivileged_port_start")); p == "7" {
		t.Error("the host's ip_unprivileged_port_start changed")
	}
	if !strings.Contains(readFile(t, proc+"cgroup"), pc.CgroupPath) {
		t.Errorf("holder cgroup %q, want %s", readFile(t, proc+"cgroup"), pc.CgroupPath)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}
