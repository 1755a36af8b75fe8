package idmap

import (
	"errors"
	"fmt"
)

// Range maps Size IDs from ContainerID in the namespace to HostID on the
// host.
type Range struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

// Mappings are a user namespace's UID and GID mappings.
type Mappings struct {
	UIDs []Range `json:"uids"`
	GIDs []Range `json:"gids"`
}

// Validate checks what a pod's user namespace needs, as containerd and
// CRI-O have it: exactly one UID and one GID range, each mapping container
// ID 0, non-empty and within the 32-bit ID space. field names them in
// errors.
func (m Mappings) Validate(field string) error {
	for _, set := range []struct {
		name string
		rs   []Range
	}{{"uids", m.UIDs}, {"gids", m.GIDs}} {
		f := field + "." + set.name
		switch {
		case len(set.rs) != 1:
			return fmt.Errorf("%s: a pod's user namespace needs exactly one mapping, not %d", f, len(set.rs))
		case set.rs[0].ContainerID != 0:
			return fmt.Errorf("%s: the mapping must map container ID 0, not start at %d", f, set.rs[0].ContainerID)
		case set.rs[0].Size == 0:
			return fmt.Errorf("%s: the mapping's length is 0", f)
		case uint64(set.rs[0].HostID)+uint64(set.rs[0].Size) > 1<<32-1:
			return fmt.Errorf("%s: host IDs %d+%d pass the end of the ID space", f, set.rs[0].HostID, set.rs[0].Size)
		}
	}
	return nil
}

// HostRoot is the host UID and GID of the namespace's root.
func (m Mappings) HostRoot() (uid, gid uint32, err error) {
	uid, okU := toHost(m.UIDs, 0)
	gid, okG := toHost(m.GIDs, 0)
	if !okU || !okG {
		return 0, 0, errors.New("container ID 0 is not mapped")
	}
	return uid, gid, nil
}

// Maps reports whether container UID and GID id are both mapped.
func (m Mappings) Maps(id uint32) bool {
	_, okU := toHost(m.UIDs, id)
	_, okG := toHost(m.GIDs, id)
	return okU && okG
}

func toHost(rs []Range, id uint32) (uint32, bool) {
	for _, r := range rs {
		if id >= r.ContainerID && uint64(id) < uint64(r.ContainerID)+uint64(r.Size) {
			return r.HostID + (id - r.ContainerID), true
		}
	}
	return 0, false
}

// Equal reports whether m and o map the same IDs the same way.
func (m Mappings) Equal(o Mappings) bool {
	return equal(m.UIDs, o.UIDs) && equal(m.GIDs, o.GIDs)
}

func equal(a, b []Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
