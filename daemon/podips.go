package daemon

import (
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podIPs indexes the pods' addresses by namespace for cluster DNS. It is
// kept from the pods' changes, so that a query reads a map instead of
// copying every pod's status.
type podIPs struct {
	mu    sync.RWMutex
	byUID map[types.UID][]netip.Addr
	byIP  map[netip.Addr]map[types.UID]string // to the pod's namespace
}

func newPodIPs() *podIPs {
	return &podIPs{byUID: map[types.UID][]netip.Addr{}, byIP: map[netip.Addr]map[types.UID]string{}}
}

// set records pod's current addresses (none: it has none).
func (x *podIPs) set(pod *corev1.Pod) {
	var ips []netip.Addr
	for _, p := range pod.Status.PodIPs {
		if a, err := netip.ParseAddr(p.IP); err == nil {
			ips = append(ips, a)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(pod.UID)
	if len(ips) == 0 {
		return
	}
	x.byUID[pod.UID] = ips
	for _, a := range ips {
		if x.byIP[a] == nil {
			x.byIP[a] = map[types.UID]string{}
		}
		x.byIP[a][pod.UID] = pod.Namespace
	}
}

// remove forgets the pod uid.
func (x *podIPs) remove(uid types.UID) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(uid)
}

func (x *podIPs) removeLocked(uid types.UID) {
	for _, a := range x.byUID[uid] {
		delete(x.byIP[a], uid)
		if len(x.byIP[a]) == 0 {
			delete(x.byIP, a)
		}
	}
	delete(x.byUID, uid)
}

// has reports whether a pod of namespace ns has the address ip.
func (x *podIPs) has(ns string, ip netip.Addr) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, podNS := range x.byIP[ip] {
		if podNS == ns {
			return true
		}
	}
	return false
}
