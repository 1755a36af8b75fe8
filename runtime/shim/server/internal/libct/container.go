package libct

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open the shim's binary: %w", err)
	}
	return &Runtime{root: root, nofile: min(rl.Max, 1<<20), minOOMScoreAdj: minOOMScoreAdj, memlock: memlock, self: self}, nil
}

// Container is one libcontainer container.
type Container struct {
	rt        *Runtime
	lc        *libcontainer.Container
	cgroup    cgroups.Manager
	spec      *specs.Spec
	sharedPID bool

	// initPid and initPidfd are the container's init once started; a
	// pidfd, so that an exec never joins a process that reused the pid.
	initPid   int
	initPidfd *os.File
	// execMu guards initPidfd (closed by Destroy) and tmpl, what every
	// exec shares, made at the first one.
	execMu sync.Mutex
	tmpl   *fastexec.Template
}

// Create validates cfg and creates its container (state and config; nothing
// runs yet). nsPid resolves Namespace.container to that container's init pid.
func (r *Runtime) Create(cfg *shimv1.ContainerConfig, nsPid func(id string) (int, error)) (*Container, error) {
	spec, err := buildSpec(cfg, specInputs{nsPid: nsPid, nofile: r.nofile, minOOMScoreAdj: r.minOOMScoreAdj,
		cgroup2: cgroups.IsCgroup2UnifiedMode()})
	if err != nil {
		return nil, err
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.GetId(), Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("convert config of container %q: %w", cfg.GetId(), err)
	}
	for _, rl := range spec.Process.Rlimits {
		config.Rlimits = append(config.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NOFILE, Hard: rl.Hard, Soft: rl.Soft})
	}
	// On cgroup v2 libcontainer raises the shim's own RLIMIT_MEMLOCK to
	// unlimited for good when it loads a device filter (for old kernels'
	// BPF accounting): every process the shim forks later would inherit
	// it, so a container's limit depended on whether another one had
	// started before. Each container process gets the shim's original.
	config.Rlimits = append(config.Rlimits, configs.Rlimit{Type: unix.RLIMIT_MEMLOCK, Hard: r.memlock.Max, Soft: r.memlock.Cur})
	cm, err := manager.New(config.Cgroups)
	if err != nil {
		return nil, fmt.Errorf("cgroup manager of container %q: %w", cfg.GetId(), err)
	}
	if err := r.clearStale(cfg.GetId()); err != nil {
		return nil, err
	}
	lc, err := libcontainer.Create(r.root, cfg.GetId(), config)
	if err != nil {
		return nil, fmt.Errorf("create container %q: %w", cfg.GetId(), err)
	}
	return &Container{rt: r, lc: lc, cgroup: cm, spec: spec, sharedPID: !config.Namespaces.IsPrivate(configs.NEWPID)}, nil
}

// clearStale destroys what a crashed shim left of container id: state of a
// container that no longer runs (stopped, or created and never started)
// would make Create fail with "container with given ID already exists"
// forever. A container that still runs is an error, never destroyed.
func (r *Runtime) clearStale(id string) error {
	lc, err := libcontainer.Load(r.root, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil
	}
	if err != nil {
		// A state dir libcontainer cannot read back is nobody's.
		if rmErr := os.RemoveAll(filepath.Join(r.root, id)); rmErr != nil {
			return fmt.Errorf("remove unreadable stale state of container %q: %w (after %w)", id, rmErr, err)
		}
		return nil
	}
	st, err := lc.Status()
	if err != nil {
		return fmt.Errorf("status of stale container %q: %w", id, err)
	}
	if st == libcontainer.Running || st == libcontainer.Paused {
		return fmt.Errorf("create container %q: one with this ID is still %s", id, st)
	}
	if err := lc.Destroy(); err != nil {
		return fmt.Errorf("destroy stale state of container %q (%s): %w", id, st, err)
	}
	return nil
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

// Process is a started container process.
type Process struct {
	// lp is libcontainer's process for the container's init; nil for an
	// exec'd process, which is the shim's child and reaped with wait4.
	lp  *libcontainer.Process
	pid int
	// Console is the master side of the process's terminal, if it has one.
	// It is non-blocking, so read deadlines work on it.
	Console *os.File
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
	if p.lp == nil {
		return waitChild(p.pid)
	}
	ps, err := p.lp.Wait()
	if ps == nil {
		return Exit{}, fmt.Errorf("wait for process %d: %w", p.pid, err)
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return Exit{Code: ps.ExitCode()}, nil
	}
	if ws.Signaled() {
		return Exit{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}, nil
	}
	return Exit{Code: ws.ExitStatus()}, nil
}

// Start runs the container's init process. On failure the container is
// destroyed; the error matches ErrCannotRun when the executable is to blame.
func (c *Container) Start(stdio Stdio) (*Process, error) {
	if err := checkExecutable(c.spec); err != nil {
		c.destroyQuietly()
		return nil, err
	}
	p := newInitProcess(c.spec.Process)
	proc, err := c.run(p, stdio)
	if err != nil {
		c.destroyQuietly()
		return nil, classify(fmt.Errorf("start container %q: %w", c.lc.ID(), err))
	}
	// The init is the shim's child and not reaped yet: the pidfd is its.
	fd, err := unix.PidfdOpen(proc.pid, 0)
	if err != nil {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		c.destroyQuietly()
		return nil, fmt.Errorf("start container %q: pidfd of init: %w", c.lc.ID(), err)
	}
	unix.CloseOnExec(fd)
	c.initPid, c.initPidfd = proc.pid, os.NewFile(uintptr(fd), "init-pidfd")
	return proc, nil
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

// newInitProcess is libcontainer's description of the container's init.
func newInitProcess(base *specs.Process) *libcontainer.Process {
	groups := make([]int, 0, len(base.User.AdditionalGids))
	for _, g := range base.User.AdditionalGids {
		groups = append(groups, int(g))
	}
	return &libcontainer.Process{
		Args: base.Args, Env: base.Env, Cwd: base.Cwd,
		UID: int(base.User.UID), GID: int(base.User.GID), AdditionalGroups: groups,
		Init: true,
	}
}

func (c *Container) run(p *libcontainer.Process, stdio Stdio) (*Process, error) {
	var parentSock *os.File
	if stdio.Console {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		defer child.Close()
		defer parent.Close()
		parentSock = parent
		p.ConsoleSocket = child
		p.ConsoleWidth, p.ConsoleHeight = stdio.Width, stdio.Height
	} else {
		if stdio.Stdin != nil {
			p.Stdin = stdio.Stdin
		}
		if stdio.Stdout != nil {
			p.Stdout = stdio.Stdout
		}
		if stdio.Stderr != nil {
			p.Stderr = stdio.Stderr
		}
	}
	if err := c.lc.Run(p); err != nil {
		return nil, err
	}
	pid, err := p.Pid()
	if err != nil {
		return nil, err
	}
	waitExecve(pid)
	proc := &Process{lp: p, pid: pid}
	if parentSock != nil {
		f, err := utils.RecvFile(parentSock)
		if err != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return nil, fmt.Errorf("receive console: %w", err)
		}
		cons, err := pollable(f)
		if err != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return nil, fmt.Errorf("receive console: %w", err)
		}
		proc.Console = cons
	}
	return proc, nil
}

// initComm is the name nsexec gives a container process until it execs the
// user's program.
const initComm = "runc:[2:INIT]"

// waitExecve waits (briefly) until process pid has exec'd the user's
// program. libcontainer returns when its init is about to exec; a signal
// arriving before the exec would hit the Go init (which dies of SIGTERM
// with status 2) instead of the program, which may ignore or trap it.
func waitExecve(pid int) {
	stat := "/proc/" + strconv.Itoa(pid) + "/stat"
	deadline := time.Now().Add(5 * time.Second)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 10*time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || end+2 >= len(b) || b[end+2] == 'Z' || string(b[open+1:end]) != initComm {
			return
		}
		time.Sleep(delay)
	}
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
	if err := c.lc.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("signal container %q: %w", c.lc.ID(), err)
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
	pids, err := c.cgroup.GetAllPids()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("signal processes of container %q: %w", c.lc.ID(), err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal process %d of container %q: %w", pid, c.lc.ID(), err)
		}
	}
	return nil
}

// KillLeftovers kills what is left in the container's cgroup after its init
// ended; only a container sharing another PID namespace can have any.
func (c *Container) KillLeftovers() error {
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
	c.execMu.Lock()
	if c.initPidfd != nil {
		c.initPidfd.Close()
		c.initPidfd = nil
	}
	c.execMu.Unlock()
	if err := c.lc.Destroy(); err != nil {
		return fmt.Errorf("destroy container %q: %w", c.lc.ID(), err)
	}
	return nil
}

func (c *Container) destroyQuietly() { _ = c.lc.Destroy() }

// Update sets the container's CPU and memory limits to those res sets
// (zero values leave a limit as it is), as buildResources reads them.
func (c *Container) Update(res *shimv1.Resources) error {
	r := buildResources(&shimv1.ContainerConfig{Resources: res})
	cfg := c.lc.Config()
	cr := cfg.Cgroups.Resources
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
	if err := c.lc.Set(cfg); err != nil {
		return fmt.Errorf("update container %q: %w", c.lc.ID(), err)
	}
	return nil
}
