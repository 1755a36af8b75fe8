package libct

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// defaultPath is the PATH a container gets when its env has none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var defaultMaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

var defaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// nsTypes maps shim/v1 namespace names to the OCI type and the /proc/<pid>/ns
// file that joins it.
var nsTypes = map[string]struct {
	oci  specs.LinuxNamespaceType
	file string
}{
	"net":    {specs.NetworkNamespace, "net"},
	"ipc":    {specs.IPCNamespace, "ipc"},
	"uts":    {specs.UTSNamespace, "uts"},
	"pid":    {specs.PIDNamespace, "pid"},
	"mount":  {specs.MountNamespace, "mnt"},
	"cgroup": {specs.CgroupNamespace, "cgroup"},
	"user":   {specs.UserNamespace, "user"},
}

// specInputs are the host facts a spec depends on.
type specInputs struct {
	// nsPath returns where to open the namespace of type typ (its
	// /proc/<pid>/ns file name) of another container of the shim.
	nsPath func(id, typ string) (string, error)
	// nofile is the RLIMIT_NOFILE to give (never above the shim's hard limit).
	nofile uint64
	// minOOMScoreAdj is the lowest oom_score_adj the shim may set.
	minOOMScoreAdj int
	// cgroup2 is set on a pure cgroup v2 host (see applyCgroup2).
	cgroup2 bool
}

// buildSpec turns a container config into an OCI runtime spec with podd's
// defaults filled in. It does no I/O.
func buildSpec(cfg *shimv1.ContainerConfig, in specInputs) (*specs.Spec, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	namespaces, err := buildNamespaces(cfg.GetNamespaces(), in.nsPath)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: cfg.GetRootfs(), Readonly: cfg.GetReadonlyRootfs()},
		Process: buildProcess(cfg, in),
		Mounts:  buildMounts(cfg),
		Linux: &specs.Linux{
			Namespaces:  namespaces,
			CgroupsPath: cfg.GetCgroupPath(),
			Resources:   buildResources(cfg),
			Sysctl:      cfg.GetSysctls(),
		},
	}
	if err := applyUserNamespace(s, cfg); err != nil {
		return nil, err
	}
	s.Linux.RootfsPropagation = rootfsPropagation(cfg.GetMounts())
	if ownsNamespace(namespaces, specs.UTSNamespace) {
		s.Hostname = cfg.GetHostname()
	}
	if !cfg.GetPrivileged() {
		s.Linux.MaskedPaths = defaultMaskedPaths
		s.Linux.ReadonlyPaths = defaultReadonlyPaths
		if p := cfg.GetPaths(); p != nil {
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = p.GetMasked(), p.GetReadonly()
		}
	}
	devs, rules, err := buildDevices(cfg)
	if err != nil {
		return nil, err
	}
	s.Linux.Devices = devs
	s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, rules...)
	if len(cfg.GetSeccomp()) > 0 {
		s.Linux.Seccomp = &specs.LinuxSeccomp{}
		if err := json.Unmarshal(cfg.GetSeccomp(), s.Linux.Seccomp); err != nil {
			return nil, fmt.Errorf("container %q: seccomp filter: %w", cfg.GetId(), err)
		}
	}
	if in.cgroup2 {
		applyCgroup2(s, cfg.GetPrivileged())
	}
	return s, nil
}

// rootfsPropagation is the propagation the container's root mount needs
// for its mounts' own: rshared for a bidirectional mount (its mounts reach
// the host), rslave for a host-to-container one, else runc's default.
func rootfsPropagation(mounts []*shimv1.Mount) string {
	out := ""
	for _, m := range mounts {
		for _, o := range m.GetOptions() {
			switch {
			case o == "rshared" || o == "shared":
				return "rshared"
			case o == "rslave" || o == "slave":
				out = "rslave"
			}
		}
	}
	return out
}

func validate(cfg *shimv1.ContainerConfig) error {
	switch {
	case cfg.GetId() == "":
		return fmt.Errorf("container config: id is empty")
	case !filepath.IsAbs(cfg.GetRootfs()):
		return fmt.Errorf("container %q: rootfs %q is not an absolute path", cfg.GetId(), cfg.GetRootfs())
	case len(cfg.GetArgs()) == 0:
		return fmt.Errorf("container %q: no command", cfg.GetId())
	case !filepath.IsAbs(cfg.GetCgroupPath()):
		return fmt.Errorf("container %q: cgroup path %q is not absolute", cfg.GetId(), cfg.GetCgroupPath())
	case cfg.GetCwd() != "" && !filepath.IsAbs(cfg.GetCwd()):
		return fmt.Errorf("container %q: working dir %q is not absolute", cfg.GetId(), cfg.GetCwd())
	}
	for _, m := range cfg.GetMounts() {
		if !filepath.IsAbs(m.GetDestination()) {
			return fmt.Errorf("container %q: mount destination %q is not absolute", cfg.GetId(), m.GetDestination())
		}
	}
	return checkMountMappings(cfg)
}

func buildProcess(cfg *shimv1.ContainerConfig, in specInputs) *specs.Process {
	// The daemon decides the set (runtime/spec owns the default and gives a
	// privileged container the host's bounding set); the list is exact, and
	// empty means no capability at all.
	caps := normalizeCaps(cfg.GetCapabilities())
	cwd := cfg.GetCwd()
	if cwd == "" {
		cwd = "/"
	}
	oom := max(int(cfg.GetOomScoreAdj()), in.minOOMScoreAdj)
	u := cfg.GetUser()
	return &specs.Process{
		Terminal:        cfg.GetTty(),
		Args:            cfg.GetArgs(),
		Env:             withDefaultPath(cfg.GetEnv()),
		Cwd:             cwd,
		User:            specs.User{UID: u.GetUid(), GID: u.GetGid(), AdditionalGids: u.GetAdditionalGids()},
		NoNewPrivileges: cfg.GetNoNewPrivileges(),
		OOMScoreAdj:     &oom,
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		},
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: in.nofile, Soft: in.nofile}},
	}
}

// normalizeCaps accepts "NET_ADMIN" as well as "CAP_NET_ADMIN".
func normalizeCaps(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.ToUpper(c)
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

func withDefaultPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append(append([]string(nil), env...), defaultPath)
}

func defaultMounts(privileged bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgroupOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged {
		sysOpts = sysOpts[:3]
		cgroupOpts = cgroupOpts[:4]
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=64m"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
	}
}

// buildMounts returns the defaults, each replaced by a configured mount on the
// same destination, then the other configured mounts; sorted (stably) so that
// a parent directory is mounted before what is mounted inside it.
func buildMounts(cfg *shimv1.ContainerConfig) []specs.Mount {
	byDest := map[string]bool{}
	var extra []specs.Mount
	for _, m := range cfg.GetMounts() {
		dest := filepath.Clean(m.GetDestination())
		byDest[dest] = true
		opts := m.GetOptions()
		if m.GetType() == "bind" && !hasOption(opts, "bind") && !hasOption(opts, "rbind") {
			opts = append([]string{"rbind"}, opts...)
		}
		extra = append(extra, specs.Mount{Destination: dest, Type: m.GetType(), Source: m.GetSource(), Options: opts,
			UIDMappings: idMappings(m.GetUidMappings()), GIDMappings: idMappings(m.GetGidMappings())})
	}
	var out []specs.Mount
	for _, m := range defaultMounts(cfg.GetPrivileged()) {
		if !byDest[m.Destination] {
			out = append(out, m)
		}
	}
	out = append(out, extra...)
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i].Destination) < depth(out[j].Destination) })
	return out
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// buildNamespaces resolves each namespace to new, joined by path, or joined
// through another container (nsPath). A container always gets its own
// mount namespace.
func buildNamespaces(in []*shimv1.Namespace, nsPath func(id, typ string) (string, error)) ([]specs.LinuxNamespace, error) {
	var out []specs.LinuxNamespace
	seen := map[string]bool{}
	for _, ns := range in {
		t, ok := nsTypes[ns.GetType()]
		if !ok {
			return nil, fmt.Errorf("namespace type %q is not one of net, ipc, uts, pid, mount, cgroup, user", ns.GetType())
		}
		if seen[ns.GetType()] {
			return nil, fmt.Errorf("namespace %q listed twice", ns.GetType())
		}
		seen[ns.GetType()] = true
		path := ns.GetPath()
		switch {
		case path != "" && ns.GetContainer() != "":
			return nil, fmt.Errorf("namespace %q: both path and container given", ns.GetType())
		case ns.GetContainer() != "":
			if nsPath == nil {
				return nil, fmt.Errorf("namespace %q: cannot join container %q", ns.GetType(), ns.GetContainer())
			}
			p, err := nsPath(ns.GetContainer(), t.file)
			if err != nil {
				return nil, fmt.Errorf("join %s namespace of container %q: %w", ns.GetType(), ns.GetContainer(), err)
			}
			path = p
		case path != "" && !filepath.IsAbs(path):
			return nil, fmt.Errorf("namespace %q: path %q is not absolute", ns.GetType(), path)
		}
		if t.oci == specs.MountNamespace && path != "" {
			return nil, fmt.Errorf("namespace \"mount\": a container cannot join another mount namespace")
		}
		out = append(out, specs.LinuxNamespace{Type: t.oci, Path: path})
	}
	if !seen["mount"] {
		out = append(out, specs.LinuxNamespace{Type: specs.MountNamespace})
	}
	return out, nil
}

func ownsNamespace(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) bool {
	for _, ns := range nss {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

func buildResources(cfg *shimv1.ContainerConfig) *specs.LinuxResources {
	devs := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	if cfg.GetPrivileged() {
		devs = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	r := &specs.LinuxResources{Devices: devs}
	res := cfg.GetResources()
	if res == nil {
		return r
	}
	if res.GetCpuShares() > 0 || res.GetCpuQuotaUs() > 0 {
		r.CPU = &specs.LinuxCPU{}
		if v := res.GetCpuShares(); v > 0 {
			r.CPU.Shares = &v
		}
		if v := res.GetCpuQuotaUs(); v > 0 {
			period := res.GetCpuPeriodUs()
			if period == 0 {
				period = 100000
			}
			r.CPU.Quota, r.CPU.Period = &v, &period
		}
	}
	if v := res.GetMemoryLimitBytes(); v > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &v}
	}
	if v := res.GetPidsLimit(); v > 0 {
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	return r
}
