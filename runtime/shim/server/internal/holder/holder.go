package holder

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/procwait"
)

// Holder is a started namespace holder.
type Holder struct {
	id     string
	proc   *os.Process
	cgroup cgroups.Manager
}

// Exit is how the holder ended.
type Exit struct {
	// Code is the exit status, 128+N when killed by signal N.
	Code int
	// Signal is the killing signal, 0 for a normal exit.
	Signal int
}

// Start makes the holder's cgroup and starts it there, calling mark after
// each of its steps ("cgroup", "start"). On failure nothing of it is left.
func Start(cfg Config, mark func(step string)) (_ *Holder, err error) {
	cg, err := makeCgroup(cfg)
	if err != nil {
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	defer func() {
		if err != nil {
			_ = cg.Destroy()
		}
	}()
	mark("cgroup")
	// The holder's user may not be able to reach the program's directory
	// (a private bin dir): the shim opens it and the holder is exec'd
	// through the descriptor, which needs only execute permission on the
	// file itself (runc execs its own binary the same way).
	bin, err := os.Open(cfg.Args[0])
	if err != nil {
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	defer bin.Close()
	log, err := openLog(cfg.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	proc, err := startIn(cfg, program{bin, log}, cg)
	if log != nil {
		log.Close() // the holder has its own descriptor
	}
	if err != nil {
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	h := &Holder{id: cfg.ID, proc: proc, cgroup: cg}
	if err := h.settle(cfg); err != nil {
		killAndReap(proc)
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	if err := h.configureUserNamespace(cfg); err != nil {
		killAndReap(proc)
		return nil, fmt.Errorf("start holder %q: %w", cfg.ID, err)
	}
	mark("start")
	return h, nil
}

// makeCgroup creates the holder's cgroup (on cgroup v2 the controllers are
// enabled down to its parent) and sets its cpu shares. On cgroup v1 it is
// made in every hierarchy, devices too, but sets no device rule: the holder
// gets its parent's.
func makeCgroup(cfg Config) (cgroups.Manager, error) {
	cg, err := manager.New(&cgroups.Cgroup{Path: cfg.CgroupPath, Resources: &cgroups.Resources{CpuShares: cfg.CPUShares}})
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", cfg.CgroupPath, err)
	}
	if err := cg.Apply(-1); err != nil {
		_ = cg.Destroy() // what was made of it in some hierarchies
		return nil, fmt.Errorf("create cgroup %s: %w", cfg.CgroupPath, err)
	}
	if err := cg.Set(&cgroups.Resources{CpuShares: cfg.CPUShares, SkipDevices: true}); err != nil {
		_ = cg.Destroy()
		return nil, fmt.Errorf("set up cgroup %s: %w", cfg.CgroupPath, err)
	}
	return cg, nil
}

// openLog opens the file the holder's output is appended to; "" is none
// (/dev/null).
func openLog(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// program is what the holder's process is made of: its open executable
// (close-on-exec: the child's copy goes at its exec) and its log.
type program struct{ bin, log *os.File }

// command is the holder's process: its own session, its user with no
// supplementary group, its output to the log.
func command(cfg Config, p program) *exec.Cmd {
	cmd := &exec.Cmd{
		Path: "/proc/self/fd/" + strconv.Itoa(int(p.bin.Fd())),
		Args: cfg.Args,
		Env:  cfg.Env,
		Dir:  "/",
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: &syscall.Credential{Uid: cfg.UID, Gid: cfg.GID, Groups: []uint32{}},
		},
	}
	if cfg.NewPID {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
	}
	if cfg.NewUser {
		inUserNamespace(cfg, cmd.SysProcAttr)
	}
	if p.log != nil {
		cmd.Stdout, cmd.Stderr = p.log, p.log
	}
	return cmd
}

// startIn starts the holder from a thread that has entered its namespaces,
// into cgroup cg.
func startIn(cfg Config, p program, cg cgroups.Manager) (*os.Process, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		return startInCgroup2(cfg, p, cg.Path(""))
	}
	cmd := command(cfg, p)
	if err := onThrowawayThread(func() error { return enterAndStart(cfg, cmd) }); err != nil {
		return nil, err
	}
	// cgroup v1: the process joins each hierarchy right after the fork; it
	// runs nothing of note before.
	for _, dir := range cg.GetPaths() {
		if err := cgroups.WriteCgroupProc(dir, cmd.Process.Pid); err != nil && !errors.Is(err, os.ErrNotExist) {
			killAndReap(cmd.Process)
			return nil, fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	return cmd.Process, nil
}

// startInCgroup2 forks straight into the cgroup at dir (CLONE_INTO_CGROUP),
// or, on a kernel without it (before 5.7), joins it right after the fork.
func startInCgroup2(cfg Config, p program, dir string) (*os.Process, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	cmd := command(cfg, p)
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	err = onThrowawayThread(func() error { return enterAndStart(cfg, cmd) })
	unix.Close(fd)
	if err == nil {
		return cmd.Process, nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return nil, err
	}
	cmd = command(cfg, p)
	if err := onThrowawayThread(func() error { return enterAndStart(cfg, cmd) }); err != nil {
		return nil, err
	}
	if err := cgroups.WriteCgroupProc(dir, cmd.Process.Pid); err != nil {
		killAndReap(cmd.Process)
		return nil, fmt.Errorf("join cgroup %s: %w", dir, err)
	}
	return cmd.Process, nil
}

func killAndReap(p *os.Process) {
	_ = p.Kill()
	_, _ = p.Wait()
}

// onThrowawayThread runs fn on an OS thread of its own that exits with it:
// what fn changes of the thread (namespaces, credentials, no_new_privs)
// never reaches the shim's other goroutines. The Go runtime starts new
// threads from a clean template thread while a thread is locked, never
// from this one. It is never the main thread: the runtime parks a main
// thread whose goroutine ends locked instead of ending it, and /proc/self
// shows the main thread's namespaces (libcontainer compares a container's
// netns with /proc/self/ns/net to refuse net sysctls in the host's).
func onThrowawayThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Hold the main thread while another thread runs fn: a
			// goroutine started now cannot run on it.
			defer runtime.UnlockOSThread()
			errc <- onThrowawayThread(fn)
			return
		}
		errc <- fn() // never unlocked: the thread ends with this goroutine
	}()
	return <-errc
}

// enterAndStart runs on a throwaway thread: it puts the thread in the
// holder's namespaces, writes the sysctls there, gives up every capability
// the thread's children could have, and forks the holder, which inherits
// all of that. A holder in a user namespace of its own is cloned into new
// namespaces instead (startInUserNamespace).
func enterAndStart(cfg Config, cmd *exec.Cmd) error {
	if cfg.NewUser {
		return startInUserNamespace(cmd)
	}
	if cfg.NetnsPath != "" {
		if err := setns(cfg.NetnsPath, unix.CLONE_NEWNET); err != nil {
			return err
		}
	}
	var flags int
	for _, ns := range []struct {
		wanted bool
		pinned string
		flag   int
	}{{cfg.NewUTS, cfg.UTSPath, unix.CLONE_NEWUTS}, {cfg.NewIPC, cfg.IPCPath, unix.CLONE_NEWIPC}} {
		switch {
		case !ns.wanted:
		case ns.pinned != "":
			if err := setns(ns.pinned, ns.flag); err != nil {
				return err
			}
		default:
			flags |= ns.flag
		}
	}
	if flags != 0 {
		if err := unix.Unshare(flags); err != nil {
			return fmt.Errorf("unshare uts/ipc namespaces: %w", err)
		}
	}
	if err := configureNamespaces(cfg); err != nil {
		return err
	}
	if err := dropPrivileges(); err != nil {
		return err
	}
	// The fork happens on this thread (os/exec forks from the calling one).
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", cmd.Args[0], err)
	}
	return nil
}

// configureNamespaces sets the hostname and writes the sysctls in the
// namespaces of the calling thread.
func configureNamespaces(cfg Config) error {
	if cfg.NewUTS && cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", cfg.Hostname, err)
		}
	}
	for _, name := range sortedKeys(cfg.Sysctls) {
		if err := os.WriteFile(sysctlPath(name), []byte(cfg.Sysctls[name]), 0); err != nil {
			return fmt.Errorf("write sysctl %s: %w", name, err)
		}
	}
	return nil
}

// dropPrivileges empties the calling thread's capability bounding set and
// sets no_new_privs, for the holder it forks to inherit.
func dropPrivileges() error {
	if err := dropBoundingSet(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

func setns(path string, nstype int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, nstype); err != nil {
		return fmt.Errorf("join namespace %s: %w", path, err)
	}
	return nil
}

// dropBoundingSet empties the thread's capability bounding set; its
// effective and permitted sets go at the holder's exec as a user other
// than root.
func dropBoundingSet() error {
	for c := 0; c <= 63; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			return nil // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// settle gives the started holder its oom_score_adj (a process property,
// so it cannot be set on the thread it forks from).
func (h *Holder) settle(cfg Config) error {
	path := "/proc/" + strconv.Itoa(h.proc.Pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(cfg.OOMScoreAdj)), 0); err != nil {
		return fmt.Errorf("set oom_score_adj %d: %w", cfg.OOMScoreAdj, err)
	}
	return nil
}

// Pid is the holder's process id (in the shim's PID namespace).
func (h *Holder) Pid() int { return h.proc.Pid }

// Wait waits for the holder to end and reaps it. The wait is on a pidfd in
// the runtime's poller (os.Process.Wait alone sleeps in waitid, holding an
// OS thread of the shim for the pod's whole life).
func (h *Holder) Wait() (Exit, error) {
	procwait.AwaitExit(h.proc.Pid)
	ps, err := h.proc.Wait()
	if err != nil {
		return Exit{}, fmt.Errorf("wait for holder %q: %w", h.id, err)
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

// Signal sends sig to the holder. The holder never forks, so all changes
// nothing; one that has ended is not an error.
func (h *Holder) Signal(sig unix.Signal, _ bool) error {
	if err := h.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal holder %q: %w", h.id, err)
	}
	return nil
}

// KillLeftovers does nothing: the holder leaves no process behind (as PID 1
// of a namespace, its end ends every process in it).
func (h *Holder) KillLeftovers() error { return nil }

// OOMKillCount reads the holder cgroup's OOM-kill counter; a missing
// cgroup counts 0.
func (h *Holder) OOMKillCount() (uint64, error) {
	n, err := h.cgroup.OOMKillCount()
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return n, err
}

// Destroy removes the holder's cgroup; the holder must have ended.
func (h *Holder) Destroy() error {
	if err := h.cgroup.Destroy(); err != nil {
		return fmt.Errorf("destroy holder %q: %w", h.id, err)
	}
	return nil
}
