package server

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
		"DEBUG": slog.LevelDebug, "": slog.LevelInfo, "loud": slog.LevelInfo,
	} {
		if got := parseLevel(in); got != want {
			t.Errorf("parseLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

// listen makes a 0600 socket, replaces a stale one, and never steals the
// socket of a shim that still answers.
func TestListen(t *testing.T) {
	dir, err := os.MkdirTemp("", "shim") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")

	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nobody answers

	lis, err := listen(path)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	defer lis.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket %v %v, want a 0600 socket", fi, err)
	}
	if _, err := listen(path); err == nil || !strings.Contains(err.Error(), "another shim is serving it") {
		t.Fatalf("listen on a live socket: %v", err)
	}
	long := filepath.Join(dir, strings.Repeat("x", shimdir.MaxSocketPath))
	if _, err := listen(long); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("listen on a long path: %v", err)
	}
}

// Main refuses to run without the flags that say which pod it serves, and
// touches nothing then.
func TestMainRequiresItsFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	for _, opts := range []Options{
		{},
		{StateDir: dir, CgroupParent: "/podd/podu1"},
		{PodUID: "u1", CgroupParent: "/podd/podu1"},
		{PodUID: "u1", StateDir: dir},
	} {
		if err := Main(opts); err == nil || !strings.Contains(err.Error(), "--pod-uid, --state-dir and --cgroup-parent are required") {
			t.Errorf("Main(%+v) = %v", opts, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir made by a refused Main: %v", err)
	}
}
