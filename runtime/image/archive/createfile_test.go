package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CreateFile writes a new file and refuses a name that exists, a link
// there included (its target is left alone).
func TestCreateFileRefusesWhatExists(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := CreateFile(p, strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "data" {
		t.Fatalf("content %q", got)
	}
	if err := CreateFile(p, strings.NewReader("again")); err == nil {
		t.Error("an existing file was overwritten")
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := CreateFile(link, strings.NewReader("evil")); err == nil {
		t.Error("a link was followed")
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the link's target was written: %q", got)
	}
}
