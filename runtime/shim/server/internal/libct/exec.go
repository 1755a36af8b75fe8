package libct

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/capability"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/exeseal"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/shim/server/internal/fastexec"
)

// Exec starts another process in the running container, through podd's
// exec helper (package fastexec) rather than libcontainer's init: the
// container's helper, spawned at its first exec, forks it.
func (c *Container) Exec(ps ProcessSpec) (*Process, error) {
	base := c.spec.Process
	cwd := ps.Cwd
	if cwd == "" {
		cwd = base.Cwd
	}
	env, err := execEnv(append(slices.Clip(base.Env), ps.Env...), func() string { return homeOf(c.spec.Root.Path, base.User.UID) })
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", c.id, err)
	}
	cmd := fastexec.Command{
		Args: ps.Args, Env: env, Cwd: cwd,
		Stdin: ps.Stdin, Stdout: ps.Stdout, Stderr: ps.Stderr,
		Console: ps.Console, Width: ps.Width, Height: ps.Height,
	}
	var pid int
	var console *os.File
	for try := 0; ; try++ {
		h, err := c.execHelper()
		if err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", c.id, err)
		}
		pid, console, err = h.Start(cmd)
		if errors.Is(err, fastexec.ErrHelperGone) && try == 0 {
			// Killed with the container's processes (a signal to all of
			// them) while the container runs on: spawn another.
			c.dropHelper(h)
			continue
		}
		var cannot *fastexec.CannotRunError
		if errors.As(err, &cannot) {
			return nil, &cannotRunError{cause: cannot.Msg}
		}
		if err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", c.id, err)
		}
		return &Process{pid: pid, Console: console}, nil
	}
}

// errEnded is an exec into a container whose init has ended.
var errEnded = errors.New("the container has ended")

// execHelper returns the container's exec helper, spawning it at the first
// exec (or after the last one ended).
func (c *Container) execHelper() (*fastexec.Helper, error) {
	c.helperMu.Lock()
	defer c.helperMu.Unlock()
	if c.helperEnded {
		return nil, errEnded
	}
	if c.helper != nil {
		return c.helper, nil
	}
	t, err := c.execTemplate()
	if err != nil {
		return nil, err
	}
	exe, err := c.rt.helperExe()
	if err != nil {
		return nil, fmt.Errorf("seal the shim binary: %w", err)
	}
	ns, err := c.openNamespaces()
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, n := range ns {
			n.File.Close()
		}
	}()
	h, err := fastexec.Spawn(exe, t, ns)
	if err != nil {
		return nil, err
	}
	c.helper = h
	return h, nil
}

// dropHelper closes h, which ended, unless another took its place.
func (c *Container) dropHelper(h *fastexec.Helper) {
	c.helperMu.Lock()
	if c.helper == h {
		c.helper = nil
	}
	c.helperMu.Unlock()
	h.Close()
}

// endHelper closes the exec helper for good: the init has ended, and the
// cgroup the helper is in goes next.
func (c *Container) endHelper() {
	c.helperMu.Lock()
	h := c.helper
	c.helper, c.helperEnded = nil, true
	c.helperMu.Unlock()
	if h != nil {
		h.Close()
	}
}

// helperExe is the shim binary the exec helper runs from: a read-only
// clone of it (CVE-2019-5736: a container process that reaches the helper's
// /proc/<pid>/exe must not be able to write the host's binary), made once
// per shim, at its first exec.
func (r *Runtime) helperExe() (*os.File, error) {
	r.exeOnce.Do(func() { r.exe, r.exeErr = r.sealSelf() })
	return r.exe, r.exeErr
}

// sealSelf clones the shim's binary: an overlay over the directory it was
// started from (no copy), unless the file there is no longer the one
// running. A shim outlives upgrades, and the next version's helper would
// read another request: then the running binary, still open, is copied.
func (r *Runtime) sealSelf() (*os.File, error) {
	running, err := r.self.Stat()
	if err != nil {
		return nil, err
	}
	exe, err := exeseal.CloneSelfExe(r.root)
	if err != nil {
		return nil, err
	}
	if fi, err := exe.Stat(); err == nil && fi.Size() == running.Size() && fi.ModTime().Equal(running.ModTime()) {
		return exe, nil
	}
	exe.Close()
	return exeseal.CloneBinary(io.NewSectionReader(r.self, 0, running.Size()), running.Size(), "podd-shim", r.root)
}

// execTemplate returns the part of an exec's request every exec of the
// container shares, computing it at the first exec.
func (c *Container) execTemplate() (*fastexec.Template, error) {
	c.execMu.Lock()
	defer c.execMu.Unlock()
	if c.tmpl != nil {
		return c.tmpl, nil
	}
	t, err := c.buildTemplate()
	if err != nil {
		return nil, err
	}
	c.tmpl = t
	return t, nil
}

func (c *Container) buildTemplate() (*fastexec.Template, error) {
	cfg := c.config
	if err := checkExecable(cfg); err != nil {
		return nil, err
	}
	u := c.spec.Process.User
	var err error
	t := &fastexec.Template{
		UID: u.UID, GID: u.GID, Groups: u.AdditionalGids,
		NoNewPrivs: cfg.NoNewPrivileges, OOMScoreAdj: cfg.OomScoreAdj, Umask: cfg.Umask,
	}
	if t.SigIgnore, err = initIgnoredSignals(); err != nil {
		return nil, err
	}
	if !cfg.NoNewKeyring {
		t.Keyring = "_ses." + c.id
	}
	for _, rl := range cfg.Rlimits {
		t.Rlimits = append(t.Rlimits, fastexec.Rlimit{Resource: uint32(rl.Type), Cur: rl.Soft, Max: rl.Hard})
	}
	if cgroups.IsCgroup2UnifiedMode() {
		t.CgroupDir = c.cgroup.Path("")
	} else {
		for _, p := range c.cgroup.GetPaths() {
			if !slices.Contains(t.CgroupPaths, p) {
				t.CgroupPaths = append(t.CgroupPaths, p)
			}
		}
		slices.Sort(t.CgroupPaths)
	}
	if t.Caps, t.LastCap, err = capMasks(cfg.Capabilities); err != nil {
		return nil, err
	}
	if c.seccomp.on {
		if c.seccomp.err != nil {
			return nil, c.seccomp.err
		}
		t.SeccompFlags = c.seccomp.flags
		if t.Seccomp, err = dumpSeccomp(c.initPid); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkExecable refuses a container whose processes need what the exec
// helper does not set up. podd never configures these (its validation
// refuses AppArmor profiles and SELinux labels); a config that has one is
// refused here rather than run without it.
func checkExecable(cfg *configs.Config) error {
	switch {
	case cfg.AppArmorProfile != "":
		return fmt.Errorf("the container has an AppArmor profile, which podd's exec does not apply")
	case cfg.ProcessLabel != "":
		return fmt.Errorf("the container has an SELinux label, which podd's exec does not apply")
	case cfg.Personality != nil || cfg.Scheduler != nil || cfg.IOPriority != nil:
		return fmt.Errorf("the container sets a personality, scheduler or I/O priority, which podd's exec does not apply")
	}
	return nil
}

// nsClone maps libcontainer's namespace types to their setns(2) types.
var nsClone = map[configs.NamespaceType]int{
	configs.NEWUSER: unix.CLONE_NEWUSER, configs.NEWNS: unix.CLONE_NEWNS, configs.NEWNET: unix.CLONE_NEWNET,
	configs.NEWIPC: unix.CLONE_NEWIPC, configs.NEWUTS: unix.CLONE_NEWUTS, configs.NEWPID: unix.CLONE_NEWPID,
	configs.NEWCGROUP: unix.CLONE_NEWCGROUP,
}

// openNamespaces opens the namespaces of the container's init to join.
func (c *Container) openNamespaces() ([]fastexec.Namespace, error) {
	c.execMu.Lock()
	defer c.execMu.Unlock()
	if c.initPidfd == nil {
		return nil, fmt.Errorf("the container has not started")
	}
	return openNamespaces(c.initPid, c.initPidfd, c.config.Namespaces)
}

// openNamespaces opens the namespaces nss of process pid, as runc's exec
// joins them: those the container's config lists. The process is the
// shim's child; once the files are open, its pidfd still answering proves
// that the pid was not reused by another process in between.
func openNamespaces(pid int, pidfd *os.File, nss configs.Namespaces) ([]fastexec.Namespace, error) {
	var out []fastexec.Namespace
	fail := func(err error) ([]fastexec.Namespace, error) {
		for _, n := range out {
			n.File.Close()
		}
		return nil, err
	}
	for _, ns := range nss {
		typ, ok := nsClone[ns.Type]
		if !ok {
			return fail(fmt.Errorf("cannot join a %s namespace", ns.Type))
		}
		f, err := openBlocking(ns.GetPath(pid))
		if err != nil {
			return fail(fmt.Errorf("the container is not running: %w", err))
		}
		out = append(out, fastexec.Namespace{Type: typ, File: f})
	}
	if err := unix.PidfdSendSignal(int(pidfd.Fd()), 0, nil, 0); err != nil {
		return fail(fmt.Errorf("the container is not running: %w", err))
	}
	return out, nil
}

// openBlocking opens path read-only as a file the runtime's poller does not
// watch. os.Open tries to add every file to the poller (a namespace or a
// regular file cannot be), and undoes that: five system calls more for
// each of the files every exec opens.
func openBlocking(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// initIgnoredSignals returns the signals a container process started
// through libcontainer's init ignores: of those the shim ignores (which
// every child inherits), the ones the Go runtime of that init leaves
// ignored, SIGHUP and SIGINT; it gives every other signal a handler, which
// the exec of the program resets to the default action.
func initIgnoredSignals() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			ign, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("the shim's ignored signals %q: %w", v, err)
			}
			return ign & (1<<(unix.SIGHUP-1) | 1<<(unix.SIGINT-1)), nil
		}
	}
	return 0, fmt.Errorf("no SigIgn in /proc/self/status")
}

// capMasks turns capability names into the five masks of a Template, as
// runc does: names the kernel does not know are left out.
func capMasks(caps *configs.Capabilities) (masks [5]uint64, last uint32, err error) {
	lastCap, err := capability.LastCap()
	if err != nil {
		return masks, 0, fmt.Errorf("read the last capability: %w", err)
	}
	if caps == nil {
		return masks, uint32(lastCap), nil
	}
	for i, set := range [5][]string{caps.Bounding, caps.Effective, caps.Permitted, caps.Inheritable, caps.Ambient} {
		for _, name := range set {
			if c, ok := capByName[name]; ok && c <= lastCap {
				masks[i] |= 1 << uint(c)
			}
		}
	}
	return masks, uint32(lastCap), nil
}

// capByName maps "CAP_NET_ADMIN" to its number.
var capByName = func() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}()

// execSeccomp is what an exec needs of the container's seccomp profile,
// which the container drops once it has started (see forgetCreation).
type execSeccomp struct {
	// on: the container runs under a filter; an exec loads the same
	// program (see dumpSeccomp) with flags.
	on    bool
	flags uint32
	// err is why an exec cannot apply the profile; an exec fails with it.
	err error
}

// newExecSeccomp is what an exec needs of profile s (nil: none).
func newExecSeccomp(s *configs.Seccomp) execSeccomp {
	if s == nil {
		return execSeccomp{}
	}
	flags, err := seccompFlags(s)
	return execSeccomp{on: true, flags: flags, err: err}
}

// seccompFlags returns the seccomp(2) flags runc loads the container's
// filter with (its filterFlags), and refuses what the helper cannot do.
func seccompFlags(s *configs.Seccomp) (uint32, error) {
	for _, call := range s.Syscalls {
		if call.Action == configs.Notify {
			return 0, fmt.Errorf("the container's seccomp profile notifies an agent, which podd's exec does not support")
		}
	}
	var flags uint32
	for _, f := range s.Flags {
		switch f {
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// libseccomp always syncs threads; the helper has one.
		case "SECCOMP_FILTER_FLAG_LOG":
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		default:
			return 0, fmt.Errorf("seccomp flag %s is not supported by podd's exec", f)
		}
	}
	return flags, nil
}

// execEnv is runc's prepareEnv: the last of each variable wins, in the
// order of its last occurrence; an empty HOME counts as unset, and an
// unset one becomes the user's home directory (home()).
func execEnv(env []string, home func() string) ([]string, error) {
	seen := map[string]bool{}
	hasHome := false
	out := make([]string, 0, len(env)+1)
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("invalid environment variable %q: missing '='", kv)
		case k == "":
			return nil, fmt.Errorf("invalid environment variable %q: name cannot be empty", kv)
		case strings.IndexByte(kv, 0) >= 0:
			return nil, fmt.Errorf("invalid environment variable %q: contains nul byte", k)
		case seen[k]:
			continue
		}
		seen[k] = true
		if k == "HOME" {
			if v == "" {
				continue
			}
			hasHome = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	if !hasHome {
		out = append(out, "HOME="+home())
	}
	return out, nil
}

// homeOf is uid's home directory in the container's /etc/passwd, or "/".
func homeOf(rootfs string, uid uint32) string {
	p, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return "/"
	}
	f, err := openBlocking(p)
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// name:password:uid:gid:gecos:home:shell
		if f := strings.Split(sc.Text(), ":"); len(f) >= 6 && f[2] == want && f[5] != "" {
			return f[5]
		}
	}
	return "/"
}
