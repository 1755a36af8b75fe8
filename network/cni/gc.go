package cni

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// CachedAttachment is one entry of libcni's result cache.
type CachedAttachment struct {
	ContainerID string
	IfName      string
	NetNS       string
	Network     string
}

// ListCachedAttachments returns every attachment in the result cache.
func (c *Client) ListCachedAttachments() ([]CachedAttachment, error) {
	all, err := c.lib.GetCachedAttachments("")
	if err != nil {
		return nil, fmt.Errorf("read cni cache: %w", err)
	}
	out := make([]CachedAttachment, 0, len(all))
	for _, a := range all {
		out = append(out, CachedAttachment{
			ContainerID: a.ContainerID,
			IfName:      a.IfName,
			NetNS:       a.NetNS,
			Network:     a.Network,
		})
	}
	return out, nil
}

// GC runs DEL, from the cache, for every cached attachment whose container
// ID is not in liveIDs. host-local frees IPs only through DEL, so this is
// what reclaims addresses of sandboxes lost in a crash or a reboot.
func (c *Client) GC(ctx context.Context, liveIDs []string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	live := make(map[string]bool, len(liveIDs))
	for _, id := range liveIDs {
		live[id] = true
	}
	all, err := c.lib.GetCachedAttachments("")
	if err != nil {
		return fmt.Errorf("read cni cache: %w", err)
	}
	var errs []error
	for _, a := range all {
		if live[a.ContainerID] {
			continue
		}
		slog.Info("cni gc of stale attachment", "sandbox", a.ContainerID, "network", a.Network)
		errs = append(errs, c.delCached(ctx, a, existingPath(a.NetNS)))
	}
	return errors.Join(errs...)
}
