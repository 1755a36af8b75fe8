package holder

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

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
	// host's) unless NewUser.
	NetnsPath string
	// NewUser gives the holder a user namespace of its own with UIDMappings
	// and GIDMappings, and a new network namespace inside it (the pod's
	// root can then administer it); NetnsPath is "" then.
	NewUser                  bool
	UIDMappings, GIDMappings []syscall.SysProcIDMap
	// NewUTS, NewIPC and NewPID ask for a new namespace of that type; the
	// holder stays in the shim's (the host's) otherwise.
	NewUTS, NewIPC, NewPID bool
	// UTSPath and IPCPath, when set, are the new UTS and IPC namespaces,
	// made ahead (Pins): the holder joins them instead of unsharing.
	UTSPath, IPCPath string
	// Hostname is set in the new UTS namespace.
	Hostname string
	// Sysctls are written in the holder's namespaces before it starts,
	// by dot-form name.
	Sysctls map[string]string
	// UID and GID are the holder's user (in its user namespace, with
	// NewUser: never its root); it never has a supplementary group or a
	// capability.
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
// have: a namespace it would join by container, a mount or cgroup
// namespace, a user namespace without its network namespace inside or
// with a root user, a sysctl outside the namespaces it owns.
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
		UIDMappings: sysMappings(cfg.GetUidMappings()),
		GIDMappings: sysMappings(cfg.GetGidMappings()),
	}
	switch {
	case len(c.Args) == 0 || !filepath.IsAbs(c.Args[0]):
		return Config{}, fmt.Errorf("holder %q: args[0] must be the absolute host path of its program, got %q", c.ID, c.Args)
	case !filepath.IsAbs(c.CgroupPath):
		return Config{}, fmt.Errorf("holder %q: cgroup path %q is not absolute", c.ID, c.CgroupPath)
	}
	newNet := false
	for _, ns := range cfg.GetNamespaces() {
		if err := c.addNamespace(ns, &newNet); err != nil {
			return Config{}, fmt.Errorf("holder %q: %w", c.ID, err)
		}
	}
	if err := c.checkUserNamespace(newNet); err != nil {
		return Config{}, fmt.Errorf("holder %q: %w", c.ID, err)
	}
	if err := c.checkSysctls(); err != nil {
		return Config{}, fmt.Errorf("holder %q: %w", c.ID, err)
	}
	return c, nil
}

// addNamespace records ns; a new network namespace (no path) sets
// *newNet, allowed only in a new user namespace (checkUserNamespace).
func (c *Config) addNamespace(ns *shimv1.Namespace, newNet *bool) error {
	if ns.GetContainer() != "" {
		return fmt.Errorf("namespace %q: a holder joins no container", ns.GetType())
	}
	switch t, path := ns.GetType(), ns.GetPath(); {
	case t == "net" && filepath.IsAbs(path):
		c.NetnsPath = path
	case t == "net" && path == "":
		*newNet = true
	case t == "net":
		return fmt.Errorf("namespace \"net\": a holder joins a pinned network namespace by absolute path, got %q", path)
	case path != "":
		return fmt.Errorf("namespace %q: a holder joins no namespace but the network's by path", t)
	case t == "user":
		c.NewUser = true
	case t == "uts":
		c.NewUTS = true
	case t == "ipc":
		c.NewIPC = true
	case t == "pid":
		c.NewPID = true
	case t == "mount":
		// The holder touches no file: it runs in the shim's mount namespace.
	default:
		return fmt.Errorf("namespace %q: a holder owns only user, net, uts, ipc and pid namespaces", t)
	}
	return nil
}

// checkUserNamespace accepts a new user namespace only with its mappings
// and a new network namespace inside it, and a holder user other than its
// root: the namespace's root gets every capability in it at exec (the
// bounding set starts full in a new user namespace), whatever the shim
// drops before the fork. A new network namespace needs a new user
// namespace: the holder of a host-owned one joins the pinned one.
func (c *Config) checkUserNamespace(newNet bool) error {
	mapped := len(c.UIDMappings) > 0 && len(c.GIDMappings) > 0
	switch {
	case !c.NewUser && newNet:
		return errors.New("namespace \"net\": a holder joins a pinned network namespace by absolute path unless it makes its own user namespace")
	case !c.NewUser && len(c.UIDMappings)+len(c.GIDMappings) > 0:
		return errors.New("uid and gid mappings are given without a new user namespace")
	case !c.NewUser:
		return nil
	case !mapped:
		return errors.New("namespace \"user\": a new user namespace needs uid and gid mappings")
	case !newNet || c.NetnsPath != "":
		return errors.New("namespace \"user\": a holder makes its network namespace inside its user namespace, not joins one")
	case c.UID == 0 || c.GID == 0:
		return fmt.Errorf("namespace \"user\": the holder's user %d:%d would be the root of its user namespace, with every capability there", c.UID, c.GID)
	case !maps(c.UIDMappings, c.UID) || !maps(c.GIDMappings, c.GID):
		return fmt.Errorf("namespace \"user\": the holder's user %d:%d is not mapped in its user namespace", c.UID, c.GID)
	}
	return nil
}

func maps(ms []syscall.SysProcIDMap, id uint32) bool {
	for _, m := range ms {
		if uint64(id) >= uint64(m.ContainerID) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// sysMappings converts shim/v1 mappings to os/exec's (nil for none).
func sysMappings(in []*shimv1.IDMapping) []syscall.SysProcIDMap {
	if len(in) == 0 {
		return nil
	}
	out := make([]syscall.SysProcIDMap, len(in))
	for i, m := range in {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.GetContainerId()), HostID: int(m.GetHostId()), Size: int(m.GetSize())}
	}
	return out
}

// ipcSysctls are the IPC namespace's sysctls besides fs.mqueue.* (the
// list libcontainer's validator accepts).
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// isIPCSysctl reports whether name is a sysctl of the IPC namespace.
func isIPCSysctl(name string) bool {
	return ipcSysctls[name] || strings.HasPrefix(name, "fs.mqueue.")
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
		case isIPCSysctl(name):
			if !c.NewIPC {
				return fmt.Errorf("sysctl %q: the holder has no IPC namespace of its own", name)
			}
		case strings.HasPrefix(name, "net."):
			if c.NetnsPath == "" && !c.NewUser {
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
