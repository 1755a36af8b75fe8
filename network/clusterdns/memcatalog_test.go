package clusterdns

import (
	"net/netip"
	"slices"
	"sync"
)

// MemoryCatalog is a Catalog held in memory, safe for concurrent use.
type MemoryCatalog struct {
	mu       sync.RWMutex
	services map[[2]string]Service
	pods     map[string][]netip.Addr
}

// NewMemoryCatalog returns an empty MemoryCatalog.
func NewMemoryCatalog() *MemoryCatalog {
	return &MemoryCatalog{services: map[[2]string]Service{}, pods: map[string][]netip.Addr{}}
}

// SetService adds or replaces the Service ns/name.
func (c *MemoryCatalog) SetService(ns, name string, s Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services[[2]string{ns, name}] = s
}

// DeleteService removes the Service ns/name.
func (c *MemoryCatalog) DeleteService(ns, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.services, [2]string{ns, name})
}

// AddPodIP records a pod of namespace ns with the address ip.
func (c *MemoryCatalog) AddPodIP(ns string, ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pods[ns] = append(c.pods[ns], ip)
}

// Service implements Catalog.
func (c *MemoryCatalog) Service(ns, name string) (Service, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.services[[2]string{ns, name}]
	return s, ok
}

// PodHasIP implements Catalog.
func (c *MemoryCatalog) PodHasIP(ns string, ip netip.Addr) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Contains(c.pods[ns], ip)
}
