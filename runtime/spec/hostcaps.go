package spec

import (
	"fmt"
	"strings"

	"github.com/moby/sys/capability"
)

// HostBoundingSet reads the capability bounding set of the calling process
// (the daemon, whose shims and containers inherit it), in number order. A
// host may lack capabilities (this project's CI lacks CAP_SYS_RESOURCE);
// privileged containers get what is there.
func HostBoundingSet() ([]string, error) {
	caps, err := capability.NewPid2(0)
	if err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	if err := caps.Load(); err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	supported, err := capability.ListSupported()
	if err != nil {
		return nil, fmt.Errorf("list supported capabilities: %w", err)
	}
	have := map[string]bool{}
	for _, c := range supported {
		if caps.Get(capability.BOUNDING, c) {
			have["CAP_"+strings.ToUpper(c.String())] = true
		}
	}
	return inOrder(have), nil
}
