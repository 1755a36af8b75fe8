package holder

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Config is a namespace holder to start.
type Config struct {
	// ID names the holder in errors.
	ID string
	// Args are the program (Args[0], an absolute host path) and its
	// arguments; Env is its environment.
	Args, Env []string
	// NetnsPath is the network namespace to join; "" keeps the shim's (the
	// host's).
	NetnsPath string
	// NewUTS, NewIPC and NewPID ask for a new namespace of that type; the
	// holder stays in the shim's (the host's) otherwise.
	NewUTS, NewIPC, NewPID bool
	// Hostname is set in the new UTS namespace.
	Hostname string
	// Sysctls are written in the holder's namespaces before it starts,
	// by dot-form name.
	Sysctls map[string]string
	// UID and GID are the holder's user; it never has a supplementary
	// group or a capability.
	UID, GID uint32
	// CgroupPath is the holder's cgroup, absolute from each hierarchy's
	// root; CPUShares its cpu shares (0 leaves the default).
	CgroupPath string
	CPUShares  uint64
	// OOMScoreAdj is the holder's oom_score_adj, already clamped to what
	// the shim may give.
	OOMScoreAdj int
	// LogPath receives the holder's stdout and stderr as they are ("" is
	// /dev/null).
	LogPath string
}

// FromContainerConfig turns a holder's shim config into a Config, raising
// its oom_score_adj to minOOMScoreAdj. It refuses what a holder cannot
// have: a namespace it would join by container, a mount, cgroup or user
// namespace, a sysctl outside the namespaces it owns.
func FromContainerConfig(cfg *shimv1.ContainerConfig, minOOMScoreAdj int) (Config, error) {
	c := Config{
		ID:          cfg.GetId(),
		Args:        cfg.GetArgs(),
		Env:         cfg.GetEnv(),
		Hostname:    cfg.GetHostname(),
		Sysctls:     cfg.GetSysctls(),
		UID:         cfg.GetUser().GetUid(),
		GID:         cfg.GetUser().GetGid(),
		CgroupPath:  cfg.GetCgroupPath(),
		CPUShares:   cfg.GetResources().GetCpuShares(),
		OOMScoreAdj: max(int(cfg.GetOomScoreAdj()), minOOMScoreAdj),
		LogPath:     cfg.GetLogPath(),
	}
	switch {
	case len(c.Args) == 0 || !filepath.IsAbs(c.Args[0]):
		return Config{}, fmt.Errorf("holder %q: args[0] must be the absolute host path of its program, got %q", c.ID, c.Args)
	case !filepath.IsAbs(c.CgroupPath):
		return Config{}, fmt.Errorf("holder %q: cgroup path %q is not absolute", c.ID, c.CgroupPath)
	}
	for _, ns := range cfg.GetNamespaces() {
		if err := c.addNamespace(ns); err != nil {
			return Config{}, fmt.Errorf("holder %q: %w", c.ID, err)
		}
	}
	if err := c.checkSysctls(); err != nil {
		return Config{}, fmt.Errorf("holder %q: %w", c.ID, err)
	}
	return c, nil
}

func (c *Config) addNamespace(ns *shimv1.Namespace) error {
	if ns.GetContainer() != "" {
		return fmt.Errorf("namespace %q: a holder joins no container", ns.GetType())
	}
	switch t, path := ns.GetType(), ns.GetPath(); {
	case t == "net" && filepath.IsAbs(path):
		c.NetnsPath = path
	case t == "net":
		return fmt.Errorf("namespace \"net\": a holder joins a pinned network namespace by absolute path, got %q", path)
	case path != "":
		return fmt.Errorf("namespace %q: a holder joins no namespace but the network's by path", t)
	case t == "uts":
		c.NewUTS = true
	case t == "ipc":
		c.NewIPC = true
	case t == "pid":
		c.NewPID = true
	case t == "mount":
		// The holder touches no file: it runs in the shim's mount namespace.
	default:
		return fmt.Errorf("namespace %q: a holder owns only uts, ipc and pid namespaces", t)
	}
	return nil
}

// ipcSysctls are the IPC namespace's sysctls besides fs.mqueue.* (the
// list libcontainer's validator accepts).
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// checkSysctls accepts a sysctl only in a namespace the holder has of its
// own, as libcontainer does: writing one anywhere else would change the
// host's.
func (c *Config) checkSysctls() error {
	for _, name := range sortedKeys(c.Sysctls) {
		for _, elem := range strings.Split(strings.TrimPrefix(sysctlPath(name), "/proc/sys/"), "/") {
			if elem == "" || elem == "." || elem == ".." {
				return fmt.Errorf("sysctl %q: not a sysctl name", name)
			}
		}
		switch {
		case ipcSysctls[name] || strings.HasPrefix(name, "fs.mqueue."):
			if !c.NewIPC {
				return fmt.Errorf("sysctl %q: the holder has no IPC namespace of its own", name)
			}
		case strings.HasPrefix(name, "net."):
			if c.NetnsPath == "" {
				return fmt.Errorf("sysctl %q: the holder is in the host's network namespace", name)
			}
		case name == "kernel.domainname":
			if !c.NewUTS {
				return fmt.Errorf("sysctl %q: the holder has no UTS namespace of its own", name)
			}
		case name == "kernel.hostname":
			return fmt.Errorf("sysctl %q: set the hostname instead", name)
		default:
			return fmt.Errorf("sysctl %q is not in a namespace the holder owns", name)
		}
	}
	return nil
}

// sysctlPath is the /proc/sys file of a dot-form sysctl name: dots and
// slashes swap ("net.ipv4.conf.eth0/1.rp_filter" is
// net/ipv4/conf/eth0.1/rp_filter).
func sysctlPath(name string) string {
	return "/proc/sys/" + strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
