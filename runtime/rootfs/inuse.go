package rootfs

import (
	"fmt"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// LayersInUse returns the lower directories of every overlay mounted at or
// under dir, as the mount table spells them: absolute, or relative to the
// layers' common parent when Mount had to shorten its options. A layer
// directory is in use when its base name is among theirs.
func LayersInUse(dir string) ([]string, error) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, fmt.Errorf("layers in use under %s: %w", dir, err)
	}
	var out []string
	for _, m := range ms {
		if m.FSType != "overlay" {
			continue
		}
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if l, ok := strings.CutPrefix(o, "lowerdir="); ok {
				for _, d := range strings.Split(l, ":") {
					if d != "" {
						out = append(out, d)
					}
				}
			}
		}
	}
	return out, nil
}
