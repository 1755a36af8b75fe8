package userns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/podd-dev/podd/runtime/idmap"
)

// DefaultSize is the IDs each pod gets: container IDs 0-65535, the
// kubelet's default (idsPerPod).
const DefaultSize = 65536

// ErrNoRange is returned by a nil Allocator: the daemon has no range to
// give pods.
var ErrNoRange = errors.New("podd has no ID range for pods' user namespaces (config key podUserNamespaceIDs)")

// Allocator gives each pod a block of Size IDs of its range. It is safe
// for concurrent use; a nil Allocator gives none (ErrNoRange).
type Allocator struct {
	first, size, blocks uint32

	mu sync.Mutex
	// held maps a block's index to the pod holding it, byPod the reverse.
	held  map[uint32]string
	byPod map[string]uint32
}

// New returns an Allocator of the host IDs [first, first+length) in
// blocks of size, each a multiple of size (the kubelet's rule: a block
// never straddles two ranges another tool hands out by the same size).
func New(first, length, size uint32) (*Allocator, error) {
	switch {
	case size == 0 || first%size != 0 || length%size != 0 || length == 0:
		return nil, fmt.Errorf("pods' user namespace IDs %d+%d: the start and the length must be non-zero multiples of %d", first, length, size)
	case first == 0:
		return nil, fmt.Errorf("pods' user namespace IDs %d+%d: the host's own IDs (from 0) cannot be a pod's", first, length)
	case uint64(first)+uint64(length) > 1<<32-1:
		return nil, fmt.Errorf("pods' user namespace IDs %d+%d pass the end of the ID space", first, length)
	}
	return &Allocator{first: first, size: size, blocks: length / size, held: map[uint32]string{}, byPod: map[string]uint32{}}, nil
}

// mappings are block b's.
func (a *Allocator) mappings(b uint32) idmap.Mappings {
	r := []idmap.Range{{ContainerID: 0, HostID: a.first + b*a.size, Size: a.size}}
	return idmap.Mappings{UIDs: r, GIDs: r}
}

// Claim records that pod holds m, as a restarted daemon reads it from the
// pod's state. m must be a block of the range that no other pod holds.
func (a *Allocator) Claim(pod string, m idmap.Mappings) error {
	if a == nil {
		return ErrNoRange
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.blockOf(m)
	if !ok {
		return fmt.Errorf("pod %s: user namespace %v is not a block of this daemon's range", pod, m)
	}
	if other, ok := a.held[b]; ok && other != pod {
		return fmt.Errorf("pod %s: user namespace %v is pod %s's", pod, m, other)
	}
	if old, ok := a.byPod[pod]; ok && old != b {
		return fmt.Errorf("pod %s: holds another user namespace, %v", pod, a.mappings(old))
	}
	a.held[b], a.byPod[pod] = pod, b
	return nil
}

// blockOf finds the block m is.
func (a *Allocator) blockOf(m idmap.Mappings) (uint32, bool) {
	if len(m.UIDs) != 1 || !m.Equal(idmap.Mappings{UIDs: m.UIDs, GIDs: m.UIDs}) {
		return 0, false
	}
	r := m.UIDs[0]
	if r.ContainerID != 0 || r.Size != a.size || r.HostID < a.first || (r.HostID-a.first)%a.size != 0 {
		return 0, false
	}
	b := (r.HostID - a.first) / a.size
	return b, b < a.blocks
}

// Allocate returns pod's block: the one it holds, or the lowest free one.
func (a *Allocator) Allocate(pod string) (idmap.Mappings, error) {
	if a == nil {
		return idmap.Mappings{}, ErrNoRange
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if b, ok := a.byPod[pod]; ok {
		return a.mappings(b), nil
	}
	for b := uint32(0); b < a.blocks; b++ {
		if _, ok := a.held[b]; !ok {
			a.held[b], a.byPod[pod] = pod, b
			return a.mappings(b), nil
		}
	}
	return idmap.Mappings{}, fmt.Errorf("pod %s: all %d user namespaces of this daemon's range are held", pod, a.blocks)
}

// Release frees pod's block, if it holds one: the pod and everything that
// ran in its user namespace are gone.
func (a *Allocator) Release(pod string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if b, ok := a.byPod[pod]; ok {
		delete(a.held, b)
		delete(a.byPod, pod)
	}
}

// ParseRange reads a range "FIRST:COUNT" (an /etc/subuid entry's numbers)
// and returns its Allocator of DefaultSize blocks; "" is none (nil).
func ParseRange(s string) (*Allocator, error) {
	if s == "" {
		return nil, nil
	}
	first, count, ok := strings.Cut(s, ":")
	f, err1 := strconv.ParseUint(first, 10, 32)
	c, err2 := strconv.ParseUint(count, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pods' user namespace IDs %q: want FIRST:COUNT, two numbers", s)
	}
	return New(uint32(f), uint32(c), DefaultSize)
}
