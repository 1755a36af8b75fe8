package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"

	"github.com/podd-dev/podd/test/testutil"
)

// Issue 3: `podctl exec` passes stdin, returns the remote exit code as its
// own, and with -it runs under a real TTY.
func TestExecStdinExitCodeAndTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: ex}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
`)
	e.waitRunning("ex", 30*time.Second)

	out, err := e.podctlErr("exec", "ex", "--", "sh", "-c", "exit 3")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("exec exit 3: err %v (out %q), want exit status 3", err, out)
	}
	out, err = e.podctlIn("hello-stdin\n", "exec", "-i", "ex", "--", "cat")
	if err != nil || out != "hello-stdin\n" {
		t.Errorf("exec -i cat: %q, %v", out, err)
	}
	if out, err := e.podctlErr("exec", "ex", "--", "tty"); err == nil || !strings.Contains(out, "not a tty") {
		t.Errorf("exec without -t: tty printed %q (%v), want 'not a tty'", out, err)
	}

	pty, slave, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	cmd := exec.Command(filepath.Join(e.bin, "podctl"), "--socket", e.socket, "exec", "-it", "ex", "--", "sh")
	f, err := os.OpenFile(slave, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var buf testutil.SyncBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		b := make([]byte, 1024)
		for {
			n, err := pty.Read(b)
			buf.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	pty.Write([]byte("tty; exit 3\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(testutil.Scaled(20 * time.Second)):
		cmd.Process.Kill()
		t.Fatalf("exec -it did not end; output %q", buf.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("exec -it: %v, want exit status 3; output %q", err, buf.String())
	}
	// Every end of the pty's slave is closed now: the copier reads what is
	// left, then EIO.
	select {
	case <-copied:
	case <-time.After(testutil.Scaled(10 * time.Second)):
		t.Fatalf("the pty did not reach its end after exec -it exited; output %q", buf.String())
	}
	if !strings.Contains(buf.String(), "/dev/pts/") {
		t.Errorf("tty under exec -it printed %q, want a /dev/pts/N", buf.String())
	}
}
