package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSearchable(t *testing.T) {
	base, err := os.MkdirTemp("/tmp", "podd-searchable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(base, "root")
	if err := os.Mkdir(top, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(top, "cri", "containers", "c1", "rootfs")
	if err := Searchable(top, path); err != nil {
		t.Fatal(err)
	}
	for d := path; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o711 {
			t.Errorf("%s: mode %v (%v), want 0711", d, fi.Mode().Perm(), err)
		}
		if d == top {
			break
		}
	}
	if err := Searchable(top, "/etc"); err == nil {
		t.Error("searchable outside top: no error")
	}
	if err := ReachableAbove(filepath.Join(path, "merged")); err != nil {
		t.Errorf("ReachableAbove: %v", err)
	}
	if err := os.Chmod(top, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ReachableAbove(path); err == nil || !strings.Contains(err.Error(), top+" (mode 0700)") {
		t.Errorf("ReachableAbove under a 0700 dir: %v", err)
	}
}
