package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/pidsignal"
	"github.com/podd-dev/podd/internal/procstat"
	"github.com/podd-dev/podd/internal/procwait"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/server/internal/fastexec"
)

// Runtime creates containers under one libcontainer state root.
type Runtime struct {
	root           string
	nofile         uint64
	minOOMScoreAdj int
	// memlock is the shim's RLIMIT_MEMLOCK as it started (see Create).
	memlock unix.Rlimit

	// self is the shim's binary as it started; exe is the sealed clone
	// of it that execs run from (see helperExe), or why there is none.
	self    *os.File
	exeOnce sync.Once
	exe     *os.File
	exeErr  error

	// ready is a create child started ahead of its request (see
	// PrepareCreate), nil when there is none.
	readyMu sync.Mutex
	ready   *readyChild
}

// NewRuntime returns a Runtime keeping container state under root.
// minOOMScoreAdj is the lowest oom_score_adj the shim is able to give a
// process (its own when it cannot lower it); lower requests are raised to it.
func NewRuntime(root string, minOOMScoreAdj int) (*Runtime, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	var memlock unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &memlock); err != nil {
		return nil, fmt.Errorf("read RLIMIT_MEMLOCK: %w", err)
	}
	limitInitProcs()
	// Found now, so that a shim without it fails at its start, and pinned
	// for the shim's life (see createBinary).
	if _, err := createBinary(); err != nil {
		return nil, err
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open the shim's binary: %w", err)
	}
	r := &Runtime{root: root, nofile: min(rl.Max, 1<<20), minOOMScoreAdj: minOOMScoreAdj, memlock: memlock, self: self}
	if rc := takeEarly(); rc != nil {
		r.readyMu.Lock()
		r.adoptLocked(rc)
		r.readyMu.Unlock()
	}
	return r, nil
}

// Container is one libcontainer container.
type Container struct {
	rt        *Runtime
	id        string
	config    *configs.Config
	cgroup    cgroups.Manager
	spec      *specs.Spec
	sharedPID bool
	// seccomp is what an exec needs of config.Seccomp, which is nil once
	// started (see forgetCreation).
	seccomp execSeccomp

	// initPid and initPidfd are the container's init once started; a
	// pidfd, so that an exec never joins a process that reused the pid.
	initPid   int
	initPidfd *os.File
	// execMu guards initPidfd (closed by Destroy) and tmpl, what every
	// exec shares, made at the first one.
	execMu sync.Mutex
	tmpl   *fastexec.Template

	// helperMu guards helper, the exec helper that has joined the
	// container (spawned at the first exec), and helperEnded, set once the
	// init has ended: no helper is spawned after that.
	helperMu    sync.Mutex
	helper      *fastexec.Helper
	helperEnded bool
}

// Create validates cfg and prepares its container: spec, libcontainer
// config and cgroup manager. Nothing is created on the host yet: Start
// hands the creation to a short-lived child (see createChild). nsPath
// resolves Namespace.container to where that container's namespace is
// opened.
func (r *Runtime) Create(cfg *shimv1.ContainerConfig, nsPath func(id, typ string) (string, error)) (*Container, error) {
	spec, config, err := r.build(cfg, nsPath)
	if err != nil {
		return nil, err
	}
	cm, err := manager.New(config.Cgroups)
	if err != nil {
		return nil, fmt.Errorf("cgroup manager of container %q: %w", cfg.GetId(), err)
	}
	return &Container{rt: r, id: cfg.GetId(), config: config, cgroup: cm, spec: spec,
		seccomp: newExecSeccomp(config.Seccomp), sharedPID: !config.Namespaces.IsPrivate(configs.NEWPID)}, nil
}

// build turns cfg into the container's OCI spec and libcontainer config,
// which its create child is given.
func (r *Runtime) build(cfg *shimv1.ContainerConfig, nsPath func(id, typ string) (string, error)) (*specs.Spec, *configs.Config, error) {
	spec, err := buildSpec(cfg, specInputs{nsPath: nsPath, nofile: r.nofile, minOOMScoreAdj: r.minOOMScoreAdj,
		cgroup2: cgroups.IsCgroup2UnifiedMode()})
	if err != nil {
		return nil, nil, err
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.GetId(), Spec: spec})
	if err != nil {
		return nil, nil, fmt.Errorf("convert config of container %q: %w", cfg.GetId(), err)
	}
	for _, rl := range spec.Process.Rlimits {
		config.Rlimits = append(config.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NOFILE, Hard: rl.Hard, Soft: rl.Soft})
	}
	// On cgroup v2 libcontainer raises its caller's RLIMIT_MEMLOCK to
	// unlimited for good when it loads a device filter (for old kernels'
	// BPF accounting): every process the shim forks later would inherit
	// it, so a container's limit depended on whether another one had
	// started before. Each container process gets the shim's original.
	config.Rlimits = append(config.Rlimits, configs.Rlimit{Type: unix.RLIMIT_MEMLOCK, Hard: r.memlock.Max, Soft: r.memlock.Cur})
	return spec, config, nil
}

// Stdio is a process's standard I/O: files handed to it, or a console.
type Stdio struct {
	// Stdin, Stdout and Stderr are given to the process; a nil Stdin is
	// /dev/null. They are ignored with Console.
	Stdin, Stdout, Stderr *os.File
	// Console gives the process a new pseudo-terminal of Width x Height.
	Console       bool
	Width, Height uint16
}

// ProcessSpec is a process to exec in a running container. Zero fields take
// the container's values.
type ProcessSpec struct {
	Args []string
	// Env is added to the container's environment.
	Env []string
	Cwd string
	Stdio
}

// Process is a started container process, a child of the shim: the
// container's init (reparented to the shim, its child subreaper, when the
// create child exits) or an exec'd process.
type Process struct {
	pid int
	// Console is the master side of the process's terminal, if it has one.
	// It is non-blocking, so read deadlines work on it.
	Console *os.File

	// mu is held while Wait reaps the process and while IfUnreaped runs.
	mu     sync.Mutex
	reaped bool
}

// Pid is the process id (in the shim's PID namespace).
func (p *Process) Pid() int { return p.pid }

// Exit is how a process ended.
type Exit struct {
	// Code is the exit status, 128+N for a process killed by signal N.
	Code int
	// Signal is the killing signal, 0 for a normal exit.
	Signal int
}

// Wait waits for the process to end and reaps it.
func (p *Process) Wait() (Exit, error) {
	procwait.AwaitExit(p.pid)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reaped = true
	return waitChild(p.pid)
}

// IfUnreaped runs fn with the process's pid unless Wait has reaped the
// process, and reports whether it ran. Until then the pid, even a zombie's,
// and the process group of that id are the process's; once it is reaped,
// either may be any other process's (pids wrap), which a signal sent to it
// would hit.
func (p *Process) IfUnreaped(fn func(pid int)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return false
	}
	fn(p.pid)
	return true
}

// Start runs the container's init process: a short-lived child of the shim
// creates and starts the container through libcontainer and exits, and the
// init becomes the shim's child. On failure the container is destroyed;
// the error matches ErrCannotRun when the executable is to blame.
func (c *Container) Start(stdio Stdio) (*Process, error) { return c.start(stdio, false) }

// Hold is Start stopped just before the init execs the user's program
// (libcontainer's Start, as `runc create`): namespaces, cgroup, mounts and
// the console are set up and the init waits on the exec fifo until
// Release. The init is the shim's child as after Start.
func (c *Container) Hold(stdio Stdio) (*Process, error) { return c.start(stdio, true) }

func (c *Container) start(stdio Stdio, hold bool) (*Process, error) {
	if err := checkExecutable(c.spec); err != nil {
		return nil, err
	}
	pid, console, created, err := c.rt.createChild(c, stdio, hold)
	if err == nil {
		var fd int
		if fd, err = initPidfd(pid); err == nil {
			c.execMu.Lock()
			c.initPid, c.initPidfd = pid, os.NewFile(uintptr(fd), "init-pidfd")
			c.forgetCreation()
			c.execMu.Unlock()
			return &Process{pid: pid, Console: console}, nil
		}
		if console != nil {
			console.Close()
		}
	}
	if created {
		// The child created the container and did not hand it over (it
		// failed, or was killed part-way): end whatever it left running.
		if kerr := c.killAll(); kerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %w)", err, kerr)
		}
		c.destroyQuietly()
	}
	return nil, classify(fmt.Errorf("start container %q: %w", c.id, err))
}

// forgetCreation drops what only the container's creation needed, once
// its init runs: a shim keeps its containers for their whole life, and the
// default seccomp profile alone, parsed in the spec and compiled in the
// config, is some 55 KiB. Exec, Update and Destroy read the rest; what an
// exec needs of the profile is in c.seccomp. execMu is held.
func (c *Container) forgetCreation() {
	c.config.Seccomp, c.config.Mounts, c.config.Devices = nil, nil, nil
	c.spec.Mounts = nil
	if l := c.spec.Linux; l != nil {
		l.Seccomp, l.Devices = nil, nil
	}
}

// initPidfd opens a pidfd of the container init pid that the create child
// reported, and checks that it is the shim's child: an init that ended
// before then is a zombie the shim has not reaped (starts hold the orphan
// sweeper off), so its pid cannot have been reused by another process.
func initPidfd(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd of init %d: %w", pid, err)
	}
	unix.CloseOnExec(fd)
	if st, err := procstat.Read(pid); err != nil || st.PPid != os.Getpid() {
		unix.Close(fd)
		return -1, fmt.Errorf("init %d is not the shim's child (%+v, %v)", pid, st, err)
	}
	return fd, nil
}

// waitChild reaps child pid and returns how it ended.
func waitChild(pid int) (Exit, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return Exit{}, fmt.Errorf("wait for process %d: %w", pid, err)
		}
	}
	if ws.Signaled() {
		return Exit{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}, nil
	}
	return Exit{Code: ws.ExitStatus()}, nil
}

// pollable turns a received terminal into a non-blocking *os.File that the
// runtime poller serves (so reads can time out), closing f.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "console"), nil
}

// Resize sets the size of the process's terminal.
func (p *Process) Resize(width, height uint16) error {
	if p.Console == nil {
		return nil
	}
	ws := &unix.Winsize{Col: width, Row: height}
	rc, err := p.Console.SyscallConn()
	if err != nil {
		return fmt.Errorf("resize terminal of process %d: %w", p.pid, err)
	}
	// Control keeps the descriptor from being closed under the ioctl.
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) }); err != nil {
		return fmt.Errorf("resize terminal of process %d: %w", p.pid, err)
	}
	if ioErr != nil {
		return fmt.Errorf("resize terminal of process %d: %w", p.pid, ioErr)
	}
	return nil
}

// Signal sends sig to the container's init, or with all to every process in
// its cgroup. A container that no longer runs is not an error.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		return c.signalAll(sig)
	}
	c.execMu.Lock()
	defer c.execMu.Unlock()
	if c.initPidfd == nil {
		return nil
	}
	// The pidfd, never the pid: once the init is reaped its pid may be
	// another process's.
	if err := unix.PidfdSendSignal(int(c.initPidfd.Fd()), sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal container %q: %w", c.id, err)
	}
	return nil
}

func (c *Container) signalAll(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		if p := c.cgroup.Path(""); p != "" {
			if err := cgroups.WriteFile(p, "cgroup.kill", "1"); err == nil {
				return nil
			}
		}
	}
	// A listed pid may be another process's by the time it is signalled.
	if _, err := pidsignal.Listed(c.cgroup.GetAllPids, sig); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("signal processes of container %q: %w", c.id, err)
	}
	return nil
}

// KillLeftovers kills what is left in the container's cgroup after its init
// ended: the exec helper, and in a container sharing another PID namespace
// what its processes left.
func (c *Container) KillLeftovers() error {
	// The exec helper is in the container's cgroup, not in its PID
	// namespace: it outlives the init.
	c.endHelper()
	if !c.sharedPID {
		return nil
	}
	return c.signalAll(unix.SIGKILL)
}

// OOMKillCount reads the cgroup's OOM-kill counter; a missing cgroup counts 0.
func (c *Container) OOMKillCount() (uint64, error) {
	n, err := c.cgroup.OOMKillCount()
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return n, err
}

// Destroy removes the container's state and cgroup. Its processes must have
// ended.
func (c *Container) Destroy() error {
	c.endHelper()
	c.execMu.Lock()
	if c.initPidfd != nil {
		c.initPidfd.Close()
		c.initPidfd = nil
	}
	c.execMu.Unlock()
	return c.destroy()
}

// destroy removes the container's cgroup and libcontainer state, as
// libcontainer's Destroy of a stopped container does (podd sets no hooks).
func (c *Container) destroy() error {
	var errs []error
	if err := c.cgroup.Destroy(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(filepath.Join(c.rt.root, c.id)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy container %q: %w", c.id, err)
	}
	return nil
}

func (c *Container) destroyQuietly() { _ = c.destroy() }

// killAll SIGKILLs every process in the container's cgroup until none is
// left (or a few seconds have passed).
func (c *Container) killAll() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := c.signalAll(unix.SIGKILL); err != nil {
			return err
		}
		pids, err := c.cgroup.GetAllPids()
		if err != nil || len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %q: %d processes left after SIGKILL", c.id, len(pids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Update sets the container's CPU and memory limits to those res sets
// (zero values leave a limit as it is), as buildResources reads them.
func (c *Container) Update(res *shimv1.Resources) error {
	r := buildResources(&shimv1.ContainerConfig{Resources: res})
	cr := c.config.Cgroups.Resources
	if r.CPU != nil {
		if r.CPU.Shares != nil {
			cr.CpuShares = *r.CPU.Shares
		}
		if r.CPU.Quota != nil {
			cr.CpuQuota, cr.CpuPeriod = *r.CPU.Quota, *r.CPU.Period
		}
	}
	if r.Memory != nil {
		cr.Memory = *r.Memory.Limit
	}
	if err := c.cgroup.Set(cr); err != nil {
		return fmt.Errorf("update container %q: %w", c.id, err)
	}
	return nil
}
