package idmap

import (
	"strings"
	"testing"
)

func one(c, h, s uint32) []Range { return []Range{{c, h, s}} }

func TestValidate(t *testing.T) {
	good := Mappings{UIDs: one(0, 1000, 100000), GIDs: one(0, 2000, 65536)}
	if err := good.Validate("f"); err != nil {
		t.Fatalf("good mappings: %v", err)
	}
	for name, tc := range map[string]struct {
		m    Mappings
		want string
	}{
		"two uid ranges":    {Mappings{UIDs: append(one(0, 1000, 10), one(10, 5000, 10)...), GIDs: one(0, 1000, 10)}, "f.uids: a pod's user namespace needs exactly one mapping, not 2"},
		"no gid range":      {Mappings{UIDs: one(0, 1000, 10)}, "f.gids: a pod's user namespace needs exactly one mapping, not 0"},
		"0 not mapped":      {Mappings{UIDs: one(1, 1000, 10), GIDs: one(0, 1000, 10)}, "f.uids: the mapping must map container ID 0"},
		"empty range":       {Mappings{UIDs: one(0, 1000, 10), GIDs: one(0, 1000, 0)}, "f.gids: the mapping's length is 0"},
		"past the ID space": {Mappings{UIDs: one(0, 1<<32-10, 100), GIDs: one(0, 1000, 10)}, "pass the end"},
	} {
		if err := tc.m.Validate("f"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func TestHostRootAndMaps(t *testing.T) {
	m := Mappings{UIDs: one(0, 100000, 65536), GIDs: one(0, 200000, 1000)}
	uid, gid, err := m.HostRoot()
	if err != nil || uid != 100000 || gid != 200000 {
		t.Errorf("HostRoot = %d, %d, %v; want 100000, 200000", uid, gid, err)
	}
	if !m.Maps(999) || m.Maps(1000) || m.Maps(65535) {
		t.Errorf("Maps: 999 %v (want true), 1000 %v, 65535 %v (want false)", m.Maps(999), m.Maps(1000), m.Maps(65535))
	}
	if _, _, err := (Mappings{UIDs: one(1, 1, 1), GIDs: one(0, 1, 1)}).HostRoot(); err == nil {
		t.Error("HostRoot of mappings without container ID 0: no error")
	}
	if !m.Equal(Mappings{UIDs: one(0, 100000, 65536), GIDs: one(0, 200000, 1000)}) || m.Equal(Mappings{UIDs: one(0, 100000, 65536)}) {
		t.Error("Equal")
	}
}
