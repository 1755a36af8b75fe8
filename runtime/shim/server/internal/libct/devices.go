package libct

// The cgroup managers program device rules through hooks that this import
// installs, as runc's main does: on v1 the rules go to devices.allow and
// devices.deny; on v2, which has no devices controller, they are compiled
// into an eBPF program (github.com/cilium/ebpf) attached to the container's
// cgroup. Both get the same list: the spec's (deny all, or allow all for a
// privileged container) followed by libcontainer's defaults
// (specconv.AllowedDevices: mknod of any node; read and write of null, zero,
// full, random, urandom, tty, console, ptmx, the pts and tun).
import _ "github.com/opencontainers/cgroups/devices"
