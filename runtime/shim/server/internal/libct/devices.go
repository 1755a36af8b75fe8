package libct

import (
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
)

// The cgroup managers program device rules through hooks that
// github.com/opencontainers/cgroups/devices installs; that package needs
// github.com/cilium/ebpf, which podd's go.mod does not carry. podd sets
// device rules only on a container's new, empty leaf cgroup and never
// updates them, so on v1 writing the rules in order is enough. Without eBPF
// there is no device controller on v2: there the rules are skipped and
// CAP_MKNOD is dropped so that a container cannot create device nodes beyond
// the default ones libcontainer makes.
func init() {
	if cgroups.DevicesSetV1 == nil {
		cgroups.DevicesSetV1 = setDevicesV1
	}
}

// setDevicesV1 writes r's device rules into the v1 devices cgroup at path.
func setDevicesV1(path string, r *cgroups.Resources) error {
	if r.SkipDevices {
		return nil
	}
	for _, rule := range r.Devices {
		file := "devices.deny"
		if rule.Allow {
			file = "devices.allow"
		}
		if err := cgroups.WriteFile(path, file, rule.CgroupString()); err != nil {
			return err
		}
	}
	return nil
}

// adaptDevicesToHost applies the v2 fallback described above.
func adaptDevicesToHost(config *configs.Config) {
	if !cgroups.IsCgroup2UnifiedMode() || cgroups.DevicesSetV2 != nil {
		return
	}
	config.Cgroups.Resources.SkipDevices = true
	if c := config.Capabilities; c != nil {
		c.Bounding = without(c.Bounding, "CAP_MKNOD")
		c.Effective = without(c.Effective, "CAP_MKNOD")
		c.Permitted = without(c.Permitted, "CAP_MKNOD")
		c.Inheritable = without(c.Inheritable, "CAP_MKNOD")
		c.Ambient = without(c.Ambient, "CAP_MKNOD")
	}
}

func without(list []string, drop string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
