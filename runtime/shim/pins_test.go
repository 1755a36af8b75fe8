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
	p := startPod(t)
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

// A holder that makes no UTS namespace (a hostNetwork pod's) stays in the
// host's, not the pinned one, and a container made after it that joins its
// IPC namespace joins the pinned one the holder joined.
func TestPinsOnlyForTheNamespacesTheHolderMakes(t *testing.T) {
	p := startPod(t)
	cfg := p.holderConfig("")
	cfg.Namespaces = []*shimv1.Namespace{{Type: "ipc"}}
	cfg.Hostname, cfg.Sysctls = "", map[string]string{"kernel.shm_rmid_forced": "1"}
	pst := p.create(cfg)
	if a, b := readlinkNS(pst.GetPid(), "uts"), readlinkNS(int32(os.Getpid()), "uts"); a != b {
		t.Errorf("holder uts namespace %s, want the host's %s", a, b)
	}
	if a, b := readlinkNS(pst.GetPid(), "ipc"), readlinkNS(int32(os.Getpid()), "ipc"); a == b {
		t.Errorf("holder in the host's ipc namespace %s", a)
	}
	app := p.config("app-0", p.rootfs("r"), "sleep", "1000")
	app.Namespaces = []*shimv1.Namespace{{Type: "ipc", Container: "pause"}, {Type: "pid"}}
	ast := p.create(app)
	if a, b := readlinkNS(ast.GetPid(), "ipc"), readlinkNS(pst.GetPid(), "ipc"); a == "" || a != b {
		t.Errorf("app ipc namespace %s, want the holder's %s", a, b)
	}
}
