package server

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/crilog"
)

// readLog returns a CRI log's records as "stream content".
func readLog(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e, err := crilog.ParseLine(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(e.Stream)+" "+string(e.Content))
	}
	return out
}

// A container's stdout and stderr go into its CRI log (whose directory is
// made); finish drains them and closes the log.
func TestOutputWritesTheCRILog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "app", "0.log")
	out, err := openOutput(path, crilog.Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPipes(false)
	if err != nil {
		t.Fatal(err)
	}
	out.copy(crilog.Stdout, p.stdoutR, io.Discard)
	out.copy(crilog.Stderr, p.stderrR, io.Discard)
	io.WriteString(p.child.Stdout, "one\ntwo\n")
	io.WriteString(p.child.Stderr, "err\n")
	p.closeChildren()
	if err := out.finish(); err != nil {
		t.Fatal(err)
	}
	got := readLog(t, path)
	stdout, stderr := 0, 0
	for _, l := range got {
		switch l {
		case "stdout one", "stdout two":
			stdout++
		case "stderr err":
			stderr++
		default:
			t.Errorf("unexpected record %q", l)
		}
	}
	if stdout != 2 || stderr != 1 {
		t.Fatalf("log %q", got)
	}
}

// No log path: output is read and dropped.
func TestOutputWithoutLogPath(t *testing.T) {
	out, err := openOutput("", crilog.Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPipes(false)
	if err != nil {
		t.Fatal(err)
	}
	out.copy(crilog.Stdout, p.stdoutR, io.Discard)
	io.WriteString(p.child.Stdout, "dropped\n")
	p.closeChildren()
	if err := out.finish(); err != nil || out.file != nil {
		t.Fatalf("finish %v, file %v", err, out.file)
	}
}

// A descendant that keeps the container's stdout open cannot hold up the
// exit: finish stops reading after drainTimeout and keeps what it read.
func TestOutputFinishBoundedByDrainTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	out, err := openOutput(path, crilog.Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPipes(false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.closeAll()
	out.copy(crilog.Stdout, p.stdoutR, io.Discard)
	io.WriteString(p.child.Stdout, "before\n")
	start := time.Now()
	if err := out.finish(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < drainTimeout/2 || d > drainTimeout+10*time.Second {
		t.Errorf("finish with an open writer took %v, want about %v", d, drainTimeout)
	}
	if got := readLog(t, path); strings.Join(got, "|") != "stdout before" {
		t.Fatalf("log %q", got)
	}
}

// An unusable log path fails the open, naming it.
func TestOpenOutputFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openOutput(filepath.Join(file, "0.log"), crilog.Rotation{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("open under a file: %v", err)
	}
}

// Pipes: stdin only when asked; closing the child's ends twice is safe;
// closeAll closes the shim's ends too.
func TestPipes(t *testing.T) {
	p, err := newPipes(false)
	if err != nil {
		t.Fatal(err)
	}
	if p.child.Stdin != nil || p.stdinW != nil {
		t.Error("stdin pipe without stdin")
	}
	p.closeAll()
	if _, err := p.stdoutR.Read(make([]byte, 1)); err == nil {
		t.Error("stdout reader open after closeAll")
	}

	p, err = newPipes(true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.closeAll()
	if _, err := io.WriteString(p.stdinW, "in"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(p.child.Stdin, buf); err != nil || string(buf) != "in" {
		t.Fatalf("child stdin read %q %v", buf, err)
	}
	p.closeChildren()
	p.closeChildren()
	if _, err := p.stdoutR.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("stdout after the child's ends closed: %v, want EOF", err)
	}
}
