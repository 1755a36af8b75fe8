package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/netns"
)

// foundAttachment is one trace of a sandbox's network on the host: a
// netns pin, a cached CNI result, a host-local lease, a masquerade rule.
type foundAttachment struct {
	ID string
	// Networks are the networks it is known on (cache, or the current one
	// for leases and rules).
	Networks []string
	Pinned   bool
	Cached   bool
	Leased   bool
	Masq     bool
}

// staleAttachments merges the traces by sandbox ID and returns, sorted,
// those of sandboxes not in live: what a crash or a reboot left. A
// sandbox whose creation was cut short by a crash is live until its owner
// undoes it (the caller lists it), so that its DEL still finds the netns.
func staleAttachments(live map[string]bool, traces []foundAttachment) []foundAttachment {
	byID := map[string]*foundAttachment{}
	var ids []string
	for _, t := range traces {
		if live[t.ID] {
			continue
		}
		f := byID[t.ID]
		if f == nil {
			f = &foundAttachment{ID: t.ID}
			byID[t.ID] = f
			ids = append(ids, t.ID)
		}
		f.Pinned = f.Pinned || t.Pinned
		f.Cached = f.Cached || t.Cached
		f.Leased = f.Leased || t.Leased
		f.Masq = f.Masq || t.Masq
		for _, n := range t.Networks {
			if !contains(f.Networks, n) {
				f.Networks = append(f.Networks, n)
			}
		}
	}
	sort.Strings(ids)
	out := make([]foundAttachment, 0, len(ids))
	for _, id := range ids {
		sort.Strings(byID[id].Networks)
		out = append(out, *byID[id])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// GC releases the network of every sandbox not in liveSandboxIDs that left
// a trace: a netns pin, a cached CNI result, a lease in a host-local dir
// of the current network, a masquerade rule of the current network. For
// each it runs CNI DEL (from the cache, else with the current network)
// while the netns pin still exists, so that the plugins find what they
// made; then removes what the bridge plugin cannot without the netns (its
// masquerade rules), then the pin.
//
// The caller must own the current network exclusively (its name, bridge
// and lease dirs; the daemon's claims make sure of it): every lease and
// rule of it that no live sandbox holds is taken as this daemon's garbage.
// It runs before any sandbox is set up, and liveSandboxIDs includes the
// sandboxes whose creation a crash cut short (their owners undo them).
func (m *Manager) GC(ctx context.Context, liveSandboxIDs []string) error {
	live := make(map[string]bool, len(liveSandboxIDs))
	for _, id := range liveSandboxIDs {
		live[id] = true
	}
	traces, err := m.traces()
	errs := []error{err}
	for _, f := range staleAttachments(live, traces) {
		unlock := m.locks.lock(f.ID)
		err := m.release(ctx, f)
		unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		slog.Info("GC: released the network of an unknown sandbox", "sandbox", f.ID, "networks", f.Networks,
			"pinned", f.Pinned, "cached", f.Cached, "leased", f.Leased, "masquerade", f.Masq)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network gc: %w", err)
	}
	return nil
}

// traces finds every sandbox network trace on the host.
func (m *Manager) traces() ([]foundAttachment, error) {
	var out []foundAttachment
	var errs []error
	pins, err := netns.List(m.netnsDir)
	errs = append(errs, err)
	for _, id := range pins {
		out = append(out, foundAttachment{ID: id, Pinned: true})
	}
	cached, err := m.cni.ListCachedAttachments()
	errs = append(errs, err)
	for _, a := range cached {
		out = append(out, foundAttachment{ID: a.ContainerID, Networks: []string{a.Network}, Cached: true})
	}
	if n := m.lastNet.Load(); n != nil {
		res := n.Resources()
		for _, dir := range res.LeaseDirs {
			leases, err := cni.Leases(dir)
			errs = append(errs, err)
			for _, l := range leases {
				if l.IfName == cni.DefaultIfName {
					out = append(out, foundAttachment{ID: l.ContainerID, Networks: []string{n.Name}, Leased: true})
				}
			}
		}
		for _, id := range cni.MasqueradeIDs(n.Name) {
			out = append(out, foundAttachment{ID: id, Networks: []string{n.Name}, Masq: true})
		}
	}
	return out, errors.Join(errs...)
}

// release tears down one stale sandbox network: DEL (cached, else with the
// current network) with the pin if it still holds a netns, the masquerade
// rules the bridge plugin could not remove, the pin.
func (m *Manager) release(ctx context.Context, f foundAttachment) error {
	path := m.NetnsPath(f.ID)
	pinned := netns.Pinned(path)
	err := m.cni.Del(ctx, m.lastNet.Load(), cni.Attachment{ContainerID: f.ID, NetNS: pinPath(path, pinned), IfName: cni.DefaultIfName})
	if err != nil {
		return fmt.Errorf("release network of sandbox %q: %w", f.ID, err)
	}
	if err := releaseMasquerade(f.Networks, f.ID); err != nil {
		return fmt.Errorf("release network of sandbox %q: %w", f.ID, err)
	}
	if err := netns.Remove(path); err != nil {
		return fmt.Errorf("release network of sandbox %q: %w", f.ID, err)
	}
	return nil
}

// networksOf names the networks sandboxID is attached to: those of its
// cached results, else the current one.
func (m *Manager) networksOf(sandboxID string) []string {
	out, _ := m.cni.CachedNetworks(sandboxID)
	if len(out) == 0 {
		if n := m.lastNet.Load(); n != nil {
			out = append(out, n.Name)
		}
	}
	return out
}

func releaseMasquerade(networks []string, sandboxID string) error {
	var errs []error
	for _, n := range networks {
		errs = append(errs, cni.ReleaseMasquerade(n, sandboxID))
	}
	return errors.Join(errs...)
}

// pinPath is the netns path to hand CNI DEL: empty when the pin holds no
// netns any more, as the CNI spec allows.
func pinPath(path string, pinned bool) string {
	if pinned {
		return path
	}
	return ""
}
