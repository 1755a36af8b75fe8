package store

import (
	"testing"
)

func TestInstanceKeyRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart int32
	}{{"web", 0}, {"web", 3}, {"my-app-2", 17}, {"a", 2147483647}} {
		key := InstanceKey(tc.name, tc.restart)
		name, restart, ok := ParseInstanceKey(key)
		if !ok || name != tc.name || restart != tc.restart {
			t.Errorf("ParseInstanceKey(%q) = %q, %d, %t; want %q, %d", key, name, restart, ok, tc.name, tc.restart)
		}
	}
	if got := InstanceKey("web", 3); got != "web-3" {
		t.Errorf("InstanceKey = %q, want web-3 (the format shims of earlier versions hold)", got)
	}
}

func TestParseInstanceKeyRejectsOtherKeys(t *testing.T) {
	for _, key := range []string{"pause", "", "-1", "web-", "web-x", "web-+1", "web-99999999999"} {
		if name, n, ok := ParseInstanceKey(key); ok {
			t.Errorf("ParseInstanceKey(%q) = %q, %d, true; want false", key, name, n)
		}
	}
}

func TestNewContainerIDIsFreshHex(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewContainerID()
		if !IsContainerID(id) {
			t.Fatalf("NewContainerID() = %q: not 64 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewContainerID() repeated %q", id)
		}
		seen[id] = true
	}
}

// Instances made before container IDs were stored get one derived from the
// pod and the key: the same at every restore, distinct across pods and runs.
func TestLegacyContainerIDIsStable(t *testing.T) {
	a := LegacyContainerID("uid-1", "web-0")
	if !IsContainerID(a) {
		t.Fatalf("LegacyContainerID = %q: not a container ID", a)
	}
	if b := LegacyContainerID("uid-1", "web-0"); b != a {
		t.Errorf("LegacyContainerID not stable: %s then %s", a, b)
	}
	for _, other := range []string{LegacyContainerID("uid-2", "web-0"), LegacyContainerID("uid-1", "web-1")} {
		if other == a {
			t.Errorf("LegacyContainerID collides: %s", a)
		}
	}
	for _, s := range []string{"web-0", "", "ABCDEF" + a[6:], a[:63]} {
		if IsContainerID(s) {
			t.Errorf("IsContainerID(%q) = true", s)
		}
	}
}
