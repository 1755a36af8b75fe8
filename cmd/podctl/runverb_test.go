package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Argument errors are reported without dialling: with no daemon at the
// socket, each command still names the bad argument, not the socket.
func TestUsageErrorsNeverDial(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nobody.sock")
	for _, args := range [][]string{
		{"get", "statefulsets"},
		{"describe", "svc/web"},
		{"delete", "sts/web"},
		{"logs", "svc/web"},
		{"exec", "svc/web", "--", "true"},
		{"exec", "web", "extra", "--", "true"},
		{"events", "svc/web"},
		{"scale", "pod/web", "--replicas=1"},
		{"rollout", "status", "svc/web"},
		{"rollout", "undo", "deployment/a", "deployment/b"},
	} {
		r := podctl(t, sock, "", args...)
		if r.code == 0 || strings.Contains(r.stderr, sock) {
			t.Errorf("podctl %v = %+v; want a usage error that does not involve the daemon", args, r)
		}
	}
}
