package proxier

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With ahead set, the next restore is started before it is needed and
// gets the next input; close ends it without input; a failing restore
// reports its stderr.
func TestRestorerStartsTheNextAhead(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "inputs")
	r := &restorer{ahead: true, argv: []string{"sh", "-c", `echo started >> ` + log + `; cat >> ` + log + `; echo >> ` + log}}
	ctx := context.Background()
	for _, in := range []string{"first", "second"} {
		if err := r.restore(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if r.next == nil {
		t.Fatal("no restore started ahead")
	}
	r.close()
	if r.next != nil {
		t.Fatal("close left the restore started ahead")
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// Three started: one per input, and the one close ended without input.
	if got, want := string(data), "started\nfirst\nstarted\nsecond\nstarted\n\n"; got != want {
		t.Errorf("the restores saw %q, want %q", got, want)
	}

	bad := &restorer{argv: []string{"sh", "-c", "cat >/dev/null; echo 'line 2 failed' >&2; exit 1"}}
	if err := bad.restore(ctx, "x"); err == nil || !strings.Contains(err.Error(), "line 2 failed") {
		t.Errorf("failed restore: %v", err)
	}
	if bad.next != nil {
		t.Error("a restorer without ahead started one ahead")
	}
}
