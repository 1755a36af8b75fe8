package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// staticPod is a manifest for the static pod directory.
func staticPod(name, msg string) string {
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "echo ` + msg + `; trap 'exit 0' TERM; sleep 1000 & wait"]}
`
}

// Issue 4: static pods are created, edited (recreated), broken (left alone),
// fixed and removed through the manifest directory; deleting one through the
// API is refused with its file named.
func TestStaticPodsFollowTheirFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, "--manifests", dir, "--static-rescan", "2s", "--node-name", "node1")
	file := filepath.Join(dir, "web.yaml")
	write := func(content string) time.Time {
		t.Helper()
		tmp := filepath.Join(dir, ".web.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil { // what editors do
			t.Fatal(err)
		}
		return time.Now()
	}
	os.WriteFile(filepath.Join(dir, ".hidden.yaml"), []byte(staticPod("hidden", "x")), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644)

	t0 := write(staticPod("web", "v1"))
	p1 := e.waitRunning("web-node1", 30*time.Second)
	t.Logf("file created → pod running: %s", time.Since(t0).Round(time.Millisecond))
	if wide := e.podctl("get", "pods", "-o", "wide"); !strings.Contains(wide, "static:"+file) {
		t.Errorf("get pods -o wide does not mark the static pod:\n%s", wide)
	}
	if _, err := e.pod("hidden-node1"); err == nil {
		t.Error("a dotfile manifest was applied")
	}
	out, err := e.podctlErr("delete", "pod", "web-node1")
	if err == nil || !strings.Contains(out, file) {
		t.Errorf("delete of a static pod: %v %q, want a refusal naming %s", err, out, file)
	}

	t1 := write(staticPod("web", "v2"))
	p2 := e.waitForPod("web-node1", 30*time.Second, "recreated with the new spec", func(p *corev1.Pod) bool {
		return p.UID != p1.UID && p.Status.Phase == corev1.PodRunning && containerStatus(p, "c") != nil && containerStatus(p, "c").State.Running != nil
	})
	t.Logf("file edited → new pod running: %s", time.Since(t1).Round(time.Millisecond))

	write("apiVersion: v1\nkind: Pod\nmetadata: {name: web\n")
	testutil.WaitFor(t, 10*time.Second, "broken file reported", func() (bool, error) {
		out, err := e.podctlErr("events", "-A")
		return strings.Contains(out, "web.yaml"), err
	})
	if p, err := e.pod("web-node1"); err != nil || p.UID != p2.UID {
		t.Fatalf("a broken file touched its pod: %v", err)
	}

	// The watcher logs each apply of the file, a no-op one too.
	applied := regexp.MustCompile(`"Static pod manifest applied" file=` + regexp.QuoteMeta(file) + ` `)
	n := len(applied.FindAllString(e.logBuf.String(), -1))
	write(staticPod("web", "v2"))
	testutil.WaitFor(t, 10*time.Second, "the fixed file applied", func() (bool, error) {
		return len(applied.FindAllString(e.logBuf.String(), -1)) > n, nil
	})
	if p, err := e.pod("web-node1"); err != nil || p.UID != p2.UID {
		t.Errorf("fixing the file back to the running spec recreated the pod (R3): %v", err)
	}

	t3 := time.Now()
	os.Remove(file)
	e.waitGone("web-node1", 30*time.Second)
	t.Logf("file removed → pod gone: %s", time.Since(t3).Round(time.Millisecond))
}

// Issue 4: sd_notify: READY=1 once serving (after recovery), STOPPING=1 on
// SIGTERM.
func TestSdNotify(t *testing.T) {
	t.Parallel()
	sockDir, err := os.MkdirTemp("/tmp", "pdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	path := filepath.Join(sockDir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var msgs []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(buf[:n]))
			mu.Unlock()
		}
	}()
	got := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(msgs, "|")
	}
	e := newEnvWith(t, []string{"NOTIFY_SOCKET=" + path})
	testutil.WaitFor(t, 5*time.Second, "READY=1", func() (bool, error) { return strings.Contains(got(), "READY=1"), nil })
	if !strings.Contains(got(), "STATUS=0 pods") {
		t.Errorf("READY came without a STATUS= pod count: %q", got())
	}
	e.stopDaemon()
	testutil.WaitFor(t, 5*time.Second, "STOPPING=1", func() (bool, error) { return strings.Contains(got(), "STOPPING=1"), nil })
	t.Logf("notify messages: %s", got())
}

// Two pods get different IPs on the bridge and reach each other.
func TestPodsReachEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: srv}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: web, image: busybox:latest, command: ["sh", "-c", "mkdir /w; echo from-srv > /w/index.html; httpd -f -p 8080 -h /w"]}
---
apiVersion: v1
kind: Pod
metadata: {name: cli}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
`)
	srv := e.waitRunning("srv", 30*time.Second)
	cli := e.waitRunning("cli", 30*time.Second)
	if srv.Status.PodIP == cli.Status.PodIP {
		t.Fatalf("both pods have IP %s", srv.Status.PodIP)
	}
	testutil.WaitFor(t, 10*time.Second, "cli fetches srv's page", func() (bool, error) {
		out, err := e.podctlErr("exec", "cli", "--", "wget", "-qO-", "http://"+srv.Status.PodIP+":8080/")
		return strings.Contains(out, "from-srv"), err
	})
}

// Scenario 24: describe lists the lifecycle events.
func TestDescribeShowsEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: ev}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; exit 1"]
`)
	e.waitForPod("ev", 30*time.Second, "restarted once", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.RestartCount >= 1
	})
	testutil.WaitFor(t, 10*time.Second, "BackOff event", func() (bool, error) {
		out, err := e.podctlErr("describe", "pod", "ev")
		return strings.Contains(out, "BackOff"), err
	})
	out := e.podctl("describe", "pod", "ev")
	for _, reason := range []string{"Scheduled", "Pulled", "Created", "Started", "BackOff"} {
		if !strings.Contains(out, reason) {
			t.Errorf("describe lacks %s:\n%s", reason, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.client.ListEvents(ctx, &poddv1.ListEventsRequest{Namespace: "default", Name: "ev"})
	if err != nil || len(resp.Events) == 0 {
		t.Fatalf("ListEvents: %v", err)
	}
	for _, ev := range resp.Events {
		if ev.Reason == "Started" && ev.Object != "spec.containers{c}" {
			t.Errorf("Started event object %q, want spec.containers{c} (R80)", ev.Object)
		}
	}
}
