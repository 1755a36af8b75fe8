//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package services

import (
	"reflect"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Info is what a consumer such as the cluster DNS needs of one Service.
type Info struct {
	Namespace, Name string
	// ClusterIP is the Service's address; "None" for a headless Service.
	ClusterIP string
	Ports     []Port
	// ReadyIPs are the distinct ready endpoint addresses, sorted.
	ReadyIPs []string
	// Endpoints is the full Endpoints object (nil without a selector).
	Endpoints *corev1.Endpoints
}

// Port is one port of a Service.
type Port struct {
	Name     string
	Protocol corev1.Protocol
	Port     int32
}

// Headless reports whether the Service has no cluster IP.
func (i Info) Headless() bool { return i.ClusterIP == corev1.ClusterIPNone }

// Registry is the daemon's current table of Services and their endpoints.
// The daemon replaces it whole (Set) at every change; readers Lookup or
// List, and wait on Changed for the next change.
type Registry struct {
	mu      sync.RWMutex
	byKey   map[string]Info
	changed chan struct{}
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byKey: map[string]Info{}, changed: make(chan struct{})}
}

// InfoOf builds the Info of svc with endpoints ep.
func InfoOf(svc *corev1.Service, ep *corev1.Endpoints) Info {
	info := Info{Namespace: svc.Namespace, Name: svc.Name, ClusterIP: svc.Spec.ClusterIP, ReadyIPs: ReadyIPs(ep), Endpoints: ep}
	for _, p := range svc.Spec.Ports {
		info.Ports = append(info.Ports, Port{Name: p.Name, Protocol: p.Protocol, Port: p.Port})
	}
	return info
}

// Set replaces the table with infos and wakes the waiters on Changed
// when anything differs.
func (r *Registry) Set(infos []Info) {
	next := make(map[string]Info, len(infos))
	for _, i := range infos {
		next[i.Namespace+"/"+i.Name] = i
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reflect.DeepEqual(r.byKey, next) {
		return
	}
	r.byKey = next
	close(r.changed)
	r.changed = make(chan struct{})
}

// Lookup returns the Service namespace/name.
func (r *Registry) Lookup(namespace, name string) (Info, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.byKey[namespace+"/"+name]
	return i, ok
}

// List returns every Service, sorted by namespace and name.
func (r *Registry) List() []Info {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Info, 0, len(r.byKey))
	for _, i := range r.byKey {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Namespace != out[b].Namespace {
			return out[a].Namespace < out[b].Namespace
		}
		return out[a].Name < out[b].Name
	})
	return out
}

// Changed is closed at the next change of the table.
func (r *Registry) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}
