package identity

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultRootKeepsTheHistoricNames(t *testing.T) {
	id, err := FromRoot(DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{id.ID, id.CgroupParent(), id.NetworkName(), id.Bridge(), id.SubnetCandidates()[0].String()}
	want := []string{"", "/podd", "podd", "podd0", "10.88.0.0/16"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("default root: got %q, want %q", got, want)
			break
		}
	}
}

func TestOtherRootsGetTheirOwnNames(t *testing.T) {
	a, _ := FromRoot("/srv/a/podd")
	b, _ := FromRoot("/srv/b/podd")
	again, _ := FromRoot("/srv/a//podd/")
	if a != again {
		t.Errorf("the same root gave two identities: %+v %+v", a, again)
	}
	if a.ID == "" || a.ID == b.ID {
		t.Fatalf("ids %q %q", a.ID, b.ID)
	}
	for _, id := range []Identity{a, b} {
		if id.CgroupParent() == "/podd" || id.Bridge() == "podd0" || id.NetworkName() == "podd" {
			t.Errorf("root %s took a default name: %s %s %s", id.Root, id.CgroupParent(), id.Bridge(), id.NetworkName())
		}
		if n := len(id.Bridge()); n > 15 {
			t.Errorf("bridge %q is %d bytes, over the kernel's 15", id.Bridge(), n)
		}
		cands := id.SubnetCandidates()
		if len(cands) != 256 || cands[0].String() == "10.88.0.0/16" {
			t.Errorf("root %s: %d candidates, first %s", id.Root, len(cands), cands[0])
		}
		seen := map[string]bool{}
		for _, c := range cands {
			if seen[c.String()] {
				t.Fatalf("candidate %s twice", c)
			}
			seen[c.String()] = true
		}
	}
	if a.SubnetCandidates()[0].String() == b.SubnetCandidates()[0].String() {
		t.Logf("two roots start at the same subnet (a 1/256 chance); claims settle it")
	}
}

func TestSymlinkedRootIsTheSameIdentity(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	a, _ := FromRoot(real)
	b, _ := FromRoot(link)
	if a != b {
		t.Errorf("%+v != %+v", a, b)
	}
}
