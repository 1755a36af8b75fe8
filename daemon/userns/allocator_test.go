package userns

import (
	"errors"
	"strings"
	"testing"

	"github.com/podd-dev/podd/runtime/idmap"
)

func block(host uint32) idmap.Mappings {
	r := []idmap.Range{{ContainerID: 0, HostID: host, Size: DefaultSize}}
	return idmap.Mappings{UIDs: r, GIDs: r}
}

func TestAllocateClaimRelease(t *testing.T) {
	a, err := New(1<<20, 3*DefaultSize, DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	// A restarted daemon's pod keeps its block; new pods get the lowest free.
	if err := a.Claim("old", block(1<<20+DefaultSize)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pod  string
		want uint32
	}{{"p1", 1 << 20}, {"p2", 1<<20 + 2*DefaultSize}, {"p1", 1 << 20}, {"old", 1<<20 + DefaultSize}} {
		m, err := a.Allocate(tc.pod)
		if err != nil || !m.Equal(block(tc.want)) {
			t.Fatalf("Allocate(%s) = %v, %v; want %v", tc.pod, m, err, block(tc.want))
		}
	}
	if _, err := a.Allocate("p3"); err == nil || !strings.Contains(err.Error(), "all 3 user namespaces") {
		t.Errorf("Allocate past the range: %v", err)
	}
	a.Release("p1")
	if m, err := a.Allocate("p3"); err != nil || !m.Equal(block(1<<20)) {
		t.Errorf("Allocate after a release = %v, %v; want the freed block", m, err)
	}
	for name, tc := range map[string]struct {
		pod string
		m   idmap.Mappings
		err string
	}{
		"held by another pod": {"p4", block(1 << 20), "is pod p3's"},
		"outside the range":   {"p4", block(1 << 24), "not a block"},
		"not on a block":      {"p4", block(1<<20 + 5), "not a block"},
		"uids and gids differ": {"p4", idmap.Mappings{UIDs: block(1 << 20).UIDs, GIDs: block(1<<20 + DefaultSize).GIDs},
			"not a block"},
	} {
		if err := a.Claim(tc.pod, tc.m); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Claim = %v, want %q", name, err, tc.err)
		}
	}
	a.Release("p2")
	if err := a.Claim("old", block(1<<20+2*DefaultSize)); err == nil || !strings.Contains(err.Error(), "holds another") {
		t.Errorf("Claim of a second block for a pod: %v", err)
	}
}

func TestNewRejectsBadRanges(t *testing.T) {
	for _, tc := range [][3]uint32{{0, DefaultSize, DefaultSize}, {100, DefaultSize, DefaultSize}, {DefaultSize, 100, DefaultSize},
		{DefaultSize, 0, DefaultSize}, {1 << 31, 1 << 31, DefaultSize}} {
		if _, err := New(tc[0], tc[1], tc[2]); err == nil {
			t.Errorf("New%v: no error", tc)
		}
	}
}

func TestParseRange(t *testing.T) {
	a, err := ParseRange("1048576:131072")
	if err != nil || a == nil || a.blocks != 2 || a.first != 1048576 {
		t.Fatalf("ParseRange = %+v, %v", a, err)
	}
	if a, err := ParseRange(""); a != nil || err != nil {
		t.Errorf("ParseRange(\"\") = %v, %v; want none", a, err)
	}
	for _, s := range []string{"1048576", "x:65536", "1048576:-1", "65537:65536"} {
		if _, err := ParseRange(s); err == nil {
			t.Errorf("ParseRange(%q): no error", s)
		}
	}
}

func TestNilAllocator(t *testing.T) {
	var a *Allocator
	if _, err := a.Allocate("p"); !errors.Is(err, ErrNoRange) {
		t.Errorf("Allocate on nil: %v", err)
	}
	a.Release("p")
}
