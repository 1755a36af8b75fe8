package holder

import (
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// A holder with a user namespace of its own (a pod with hostUsers: false,
// a CRI sandbox with userns_options POD) cannot be forked from a thread
// that entered its namespaces: there is no pinned network namespace yet
// (the pod's comes from the holder, created in its user namespace so that
// the pod's root can administer it), and a thread of the multi-threaded
// shim can neither unshare nor join a user namespace. So the holder is
// cloned straight into new user, network, UTS, IPC (and PID) namespaces
// with its mappings, which the shim writes before the child goes on (Go's
// os/exec), and the child switches to the holder's user before its exec:
// as a user other than the namespace's root it has no capability after
// it. The hostname and the sysctls are set afterwards from a throwaway
// thread of the shim that enters the holder's network, UTS and IPC
// namespaces but not its user namespace: the host's root has every
// capability in the namespaces of a user namespace it created.

// inUserNamespace makes attr clone the holder into its own user namespace
// and new namespaces owned by it. setgroups stays allowed: containers that
// join the namespace get their supplementary groups there.
func inUserNamespace(cfg Config, attr *syscall.SysProcAttr) {
	attr.Cloneflags |= unix.CLONE_NEWUSER | unix.CLONE_NEWNET
	if cfg.NewUTS {
		attr.Cloneflags |= unix.CLONE_NEWUTS
	}
	if cfg.NewIPC {
		attr.Cloneflags |= unix.CLONE_NEWIPC
	}
	attr.UidMappings, attr.GidMappings = cfg.UIDMappings, cfg.GIDMappings
	attr.GidMappingsEnableSetgroups = true
}

// startInUserNamespace runs on a throwaway thread: it sets no_new_privs
// for the holder to inherit and forks it into its namespaces. Its
// bounding set is not dropped: it starts full in a new user namespace
// anyway, and the holder's user is not the namespace's root.
func startInUserNamespace(cmd *exec.Cmd) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s in a new user namespace: %w", cmd.Args[0], err)
	}
	return nil
}

// configureUserNamespace sets the hostname and writes the sysctls in the
// namespaces of a holder that made its own user namespace; any other
// holder has them already.
func (h *Holder) configureUserNamespace(cfg Config) error {
	if !cfg.NewUser || (cfg.Hostname == "" && len(cfg.Sysctls) == 0) {
		return nil
	}
	return onThrowawayThread(func() error {
		dir := "/proc/" + strconv.Itoa(h.proc.Pid) + "/ns/"
		for _, ns := range []struct {
			name  string
			typ   int
			owned bool
		}{{"net", unix.CLONE_NEWNET, true}, {"uts", unix.CLONE_NEWUTS, cfg.NewUTS}, {"ipc", unix.CLONE_NEWIPC, cfg.NewIPC}} {
			if !ns.owned {
				continue
			}
			if err := setns(dir+ns.name, ns.typ); err != nil {
				return fmt.Errorf("configure the holder's namespaces: %w", err)
			}
		}
		return configureOwnedNamespaces(cfg)
	})
}

// configureOwnedNamespaces sets the hostname and the sysctls in namespaces
// a child user namespace owns, from a thread of the host's root that
// entered them. The IPC namespace's sysctls (kernel.shm*, msg*, sem,
// fs.mqueue.*) are writable by the namespace's root only, capabilities
// notwithstanding, so the thread writes them last, as that user (on this
// thread alone: the raw system call, not Go's, which changes every thread).
func configureOwnedNamespaces(cfg Config) error {
	ipc := make(map[string]string)
	other := Config{NewUTS: cfg.NewUTS, Hostname: cfg.Hostname, Sysctls: make(map[string]string)}
	for name, v := range cfg.Sysctls {
		if isIPCSysctl(name) {
			ipc[name] = v
		} else {
			other.Sysctls[name] = v
		}
	}
	if err := configureNamespaces(other); err != nil {
		return err
	}
	if len(ipc) == 0 {
		return nil
	}
	root, ok := toHost(cfg.UIDMappings, 0)
	if !ok {
		return fmt.Errorf("write IPC sysctls: the holder's user namespace maps no root")
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(root), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("write IPC sysctls as the user namespace's root (host uid %d): %w", root, errno)
	}
	return configureNamespaces(Config{Sysctls: ipc})
}

// toHost is the host ID that id maps to in ms.
func toHost(ms []syscall.SysProcIDMap, id int) (int, bool) {
	for _, m := range ms {
		if id >= m.ContainerID && id < m.ContainerID+m.Size {
			return m.HostID + id - m.ContainerID, true
		}
	}
	return 0, false
}
