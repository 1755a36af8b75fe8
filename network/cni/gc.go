package cni

import (
	"fmt"
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

// CachedNetworks names the networks of containerID's cached results.
func (c *Client) CachedNetworks(containerID string) ([]string, error) {
	all, err := c.lib.GetCachedAttachments(containerID)
	if err != nil {
		return nil, fmt.Errorf("read cni cache of %q: %w", containerID, err)
	}
	var out []string
	for _, a := range all {
		out = append(out, a.Network)
	}
	return out, nil
}
