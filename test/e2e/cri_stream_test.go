package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// background starts a long-running command, ended (and waited for) at
// cleanup or by the returned stop.
func background(t *testing.T, name string, args ...string) (out *testutil.SyncBuffer, stop func()) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out = &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return out, stop
}

// runSandbox makes a CRI sandbox with crictl runp and returns its ID.
func (e *env) runSandbox(name string) string {
	e.t.Helper()
	cfg := filepath.Join(e.dir, name+"-sandbox.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{
  "metadata": {"name": %q, "namespace": "cri", "uid": "%s-uid", "attempt": 1},
  "log_directory": %q,
  "linux": {}
}`, name, name, filepath.Join(e.dir, name+"-logs"))), 0o600); err != nil {
		e.t.Fatal(err)
	}
	id := strings.TrimSpace(e.crictl("runp", cfg))
	if len(id) != 64 {
		e.t.Fatalf("runp printed %q, want a sandbox ID", id)
	}
	return id
}

// Issue 9, streaming slice: crictl port-forward reaches a server that
// listens on 127.0.0.1 inside a CRI sandbox's network namespace (and that
// the host's loopback does not have); a port nobody listens on there is an
// error naming the port; nothing is left after rmp.
func TestCRIPortForwardWithCrictl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.runSandbox("pf")
	netnsPath := e.inspectp(id).Info.NetnsPath
	if netnsPath == "" {
		t.Fatal("inspectp shows no network namespace")
	}

	// A web server on the sandbox's loopback only, as a container's would be.
	www := filepath.Join(e.dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("hello from the sandbox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const port = 8080
	_, stopHTTPD := background(t, "nsenter", "--net="+netnsPath, "busybox", "httpd", "-f", "-p", fmt.Sprintf("127.0.0.1:%d", port), "-h", www)
	// Listening first: a forwarded connection that finds nothing makes
	// crictl end the whole port-forward session (client-go's behaviour).
	testutil.WaitFor(t, 30*time.Second, "httpd to listen in the sandbox", func() (bool, error) {
		return exec.Command("nsenter", "--net="+netnsPath, "busybox", "wget", "-q", "-O", "/dev/null",
			fmt.Sprintf("http://127.0.0.1:%d/index.html", port)).Run() == nil, nil
	})

	local := freePort(t)
	fwdOut, stopFwd := background(t, crictlBinary(t), "--runtime-endpoint", "unix://"+e.criSocket(), "--timeout", "60s",
		"port-forward", id, fmt.Sprintf("%d:%d", local, port))
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", local)
	var body string
	testutil.WaitFor(t, 60*time.Second, "a page through crictl port-forward", func() (bool, error) {
		var err error
		body, err = httpGet(url)
		return err == nil, nil
	})
	if body != "hello from the sandbox\n" {
		t.Fatalf("through port-forward: %q\ncrictl: %s", body, fwdOut)
	}
	// One session forwards many connections.
	for i := 0; i < 3; i++ {
		if b, err := httpGet(url); err != nil || b != body {
			t.Fatalf("request %d through the same port-forward: %q %v\ncrictl: %s", i, b, err, fwdOut)
		}
	}
	stopFwd()

	// Nothing listens on 8081 in the sandbox: the connection is closed and
	// crictl reports podd's error naming the port.
	other := freePort(t)
	missOut, _ := background(t, crictlBinary(t), "--runtime-endpoint", "unix://"+e.criSocket(), "--timeout", "60s",
		"port-forward", id, fmt.Sprintf("%d:%d", other, port+1))
	testutil.WaitFor(t, 60*time.Second, "crictl to report the missing port", func() (bool, error) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", other), 5*time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.ReadAll(c)
			c.Close()
		}
		return strings.Contains(missOut.String(), "nothing listens on port 8081"), nil
	})

	stopHTTPD()
	e.crictl("stopp", id)
	e.crictl("rmp", id)
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
