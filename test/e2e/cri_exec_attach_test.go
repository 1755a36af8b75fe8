package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"

	"github.com/podd-dev/podd/test/testutil"
)

// crictlIn runs crictl with stdin and returns its stdout and stderr.
func (e *env) crictlIn(stdin string, args ...string) (stdout, stderr string, err error) {
	e.t.Helper()
	sock := "unix://" + e.criSocket()
	cmd := exec.Command(crictlBinary(e.t), append([]string{"--runtime-endpoint", sock, "--timeout", "60s"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// terminal is crictl running on a pseudo-terminal, as a user at a shell.
type terminal struct {
	t      testing.TB
	master console.Console
	cmd    *exec.Cmd
	out    *testutil.SyncBuffer
	done   chan error
}

func (e *env) crictlOnTerminal(size console.WinSize, args ...string) *terminal {
	e.t.Helper()
	master, slavePath, err := console.NewPty()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := master.Resize(size); err != nil {
		e.t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	sock := "unix://" + e.criSocket()
	cmd := exec.Command(crictlBinary(e.t), append([]string{"--runtime-endpoint", sock, "--timeout", "60s"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	slave.Close()
	term := &terminal{t: e.t, master: master, cmd: cmd, out: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	go io.Copy(term.out, master)
	go func() { term.done <- cmd.Wait() }()
	e.t.Cleanup(func() {
		cmd.Process.Kill()
		<-term.done
		master.Close()
	})
	return term
}

func (term *terminal) typeIn(s string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) waitOutput(what, want string) {
	term.t.Helper()
	testutil.WaitFor(term.t, 30*time.Second, what, func() (bool, error) {
		if got := term.out.String(); !strings.Contains(got, want) {
			return false, fmt.Errorf("the terminal shows %q", got)
		}
		return true, nil
	})
}

func (term *terminal) waitExit() error {
	term.t.Helper()
	select {
	case err := <-term.done:
		term.done <- err
		return err
	case <-time.After(testutil.Scaled(30 * time.Second)):
		term.t.Fatalf("crictl did not exit; its terminal shows %q", term.out.String())
		return nil
	}
}

// Issue 9, streaming slice: crictl exec (-s through ExecSync, else through
// podd's streaming server, with piped stdin or on a terminal that it
// resizes) and crictl attach (-it to a shell with a terminal, detached
// with ctrl-p ctrl-q leaving it running; -i to a stdin_once reader whose
// stdin closes when the input ends) in containers of a CRI sandbox.
func TestCRIExecAndAttachWithCrictl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	sbCfg := writeJSON(t, filepath.Join(dir, "sandbox.json"), `{
  "metadata": {"name": "stream", "namespace": "cri", "uid": "stream-uid", "attempt": 0},
  "log_directory": "`+filepath.Join(dir, "logs")+`", "linux": {}
}`)
	ctr := func(name, extra string, cmd ...string) string {
		q := make([]string, len(cmd))
		for i, c := range cmd {
			q[i] = fmt.Sprintf("%q", c)
		}
		return writeJSON(t, filepath.Join(dir, name+".json"), fmt.Sprintf(`{
  "metadata": {"name": %q}, "image": {"image": "busybox:latest"},
  "command": [%s], "log_path": "%s/0.log", "linux": {}%s
}`, name, strings.Join(q, ", "), name, extra))
	}
	sb := strings.TrimSpace(e.crictl("runp", sbCfg))
	start := func(cfg string) string {
		id := strings.TrimSpace(e.crictl("create", "--no-pull", sb, cfg, sbCfg))
		e.crictl("start", id)
		return id
	}
	sleeper := start(ctr("sleeper", "", "sleep", "3600"))
	shell := start(ctr("shell", `, "stdin": true, "tty": true`, "sh"))
	reader := start(ctr("reader", `, "stdin": true, "stdin_once": true`, "sh", "-c", "cat; echo bye"))

	if out := e.crictl("exec", "-s", sleeper, "sh", "-c", "echo sync"); strings.TrimSpace(out) != "sync" {
		t.Errorf("exec -s: %q", out)
	}
	out, errOut, err := e.crictlIn("", "exec", sleeper, "sh", "-c", "echo out; echo err >&2; exit 3")
	if err == nil || out != "out\n" || !strings.Contains(errOut, "err\n") || !strings.Contains(errOut, "exit code 3") {
		t.Errorf("exec exiting 3: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	if out, errOut, err := e.crictlIn("piped\n", "exec", "-i", sleeper, "cat"); err != nil || out != "piped\n" {
		t.Errorf("exec -i with piped stdin: %v %q %q", err, out, errOut)
	}

	term := e.crictlOnTerminal(console.WinSize{Height: 33, Width: 101}, "exec", "-it", sleeper, "sh", "-c", "stty size; tty")
	term.waitOutput("exec -it's terminal size", "33 101")
	term.waitOutput("exec -it's terminal", "/dev/pts/")
	if err := term.waitExit(); err != nil {
		t.Errorf("exec -it: %v\n%s", err, term.out.String())
	}

	term = e.crictlOnTerminal(console.WinSize{Height: 24, Width: 80}, "attach", "-it", shell)
	term.typeIn("echo attached-$((6*7))\n")
	term.waitOutput("the shell's answer through attach", "attached-42")
	// The shell reports its terminal's size every second while the
	// user's terminal is resized; ctrl-c ends the loop.
	term.typeIn("while sleep 1; do stty size; done\n")
	term.waitOutput("the loop's first report", "24 80")
	if err := term.master.Resize(console.WinSize{Height: 40, Width: 120}); err != nil {
		t.Fatal(err)
	}
	term.waitOutput("the shell's terminal resized with the user's", "40 120")
	term.typeIn("\x03")
	term.typeIn("\x10\x11") // ctrl-p ctrl-q: detach
	if err := term.waitExit(); err != nil {
		t.Logf("attach -it after detach: %v", err)
	}
	if st := e.inspect(shell).Status.State; st != "CONTAINER_RUNNING" {
		t.Errorf("the shell after a detach: %s", st)
	}

	out, errOut, err = e.crictlIn("hello\n", "attach", "-i", reader)
	if err != nil || out != "hello\nbye\n" {
		t.Errorf("attach -i to a stdin_once reader: %v %q %q", err, out, errOut)
	}
	testutil.WaitFor(t, 30*time.Second, "the reader to exit once its stdin closed", func() (bool, error) {
		s := e.inspect(reader).Status
		return s.State == "CONTAINER_EXITED" && s.ExitCode == 0, nil
	})

	e.crictl("stopp", sb)
	e.crictl("rmp", sb)
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
