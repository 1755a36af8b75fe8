package shim_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// A shim launched to pin its pod's UTS and IPC namespaces says so, and
// makes a container that joins the pause's before the pause exists (the
// daemon makes the pod's first containers beside the pause's start); the
// pause then joins the pinned namespaces and gives them its hostname and
// sysctls, which the released container sees.
func TestPinnedNamespacesLetAContainerBeMadeBeforeThePause(t *testing.T) {
	p := startPodPinned(t, filepath.Join(binDir, "podd-shim"), []string{"uts", "ipc"})
	if got := p.c.PinnedNamespaces(); !slices.Equal(got, []string{"uts", "ipc"}) {
		t.Fatalf("shim pinned %v, want [uts ipc]", got)
	}
	nsPath := newNetns(t, "pp"+filepath.Base(p.dir))
	app := p.config("app-0", p.rootfs("r"), "sh", "-c", "hostname; sleep 1000")
	app.Namespaces = []*shimv1.Namespace{{Type: "net", Path: nsPath}, {Type: "ipc", Container: "pause"}, {Type: "uts", Container: "pause"}, {Type: "pid"}}
	held := p.hold(app)

	pst := p.create(p.holderConfig(nsPath))
	assertHolder(t, p, pst.GetPid())
	for _, ns := range []string{"ipc", "uts"} {
		if a, b := readlinkNS(held.GetPid(), ns), readlinkNS(pst.GetPid(), ns); a == "" || a != b {
			t.Errorf("%s namespace: app %q, pause %q; want the same", ns, a, b)
		}
		if a, b := readlinkNS(pst.GetPid(), ns), readlinkNS(int32(os.Getpid()), ns); a == b {
			t.Errorf("pause in the host's %s namespace %s", ns, a)
		}
	}
	if _, err := p.c.StartContainer(context.Background(), &shimv1.StartContainerRequest{Id: "app-0"}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "app hostname in log", func() (bool, error) {
		b, err := os.ReadFile(app.GetLogPath())
		return strings.Contains(string(b), " stdout F mypod\n"), err
	})
	r := p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"cat", "/proc/sys/kernel/shm_rmid_forced"}})
	if r.stdout != "1\n" {
		t.Errorf("kernel.shm_rmid_forced in the app: %q, want the pause's 1", r.stdout)
	}
}

// A holder that would not be in the pinned namespaces is refused, so that
// no container joins namespaces its pod's holder is not in: one in the
// host's UTS namespace (hostNetwork) with uts pinned.
func TestPinnedNamespacesRefuseAHolderOutsideThem(t *testing.T) {
	p := startPodPinned(t, filepath.Join(binDir, "podd-shim"), []string{"uts", "ipc"})
	cfg := p.holderConfig(newNetns(t, "pr"+filepath.Base(p.dir)))
	cfg.Namespaces = []*shimv1.Namespace{{Type: "ipc"}}
	cfg.Hostname, cfg.Sysctls = "", nil
	resp, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
	if err == nil && resp.GetState().GetStatus() == shimv1.Status_STATUS_RUNNING {
		t.Fatalf("holder outside the pinned uts namespace started: %v", resp.GetState())
	}
	msg := resp.GetState().GetMessage()
	if err != nil {
		msg = err.Error()
	}
	if !strings.Contains(msg, `namespace "uts" is pinned`) {
		t.Errorf("refusal %q does not name the pinned namespace", msg)
	}
}
