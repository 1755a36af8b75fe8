package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// execSecurityFields are the /proc/<pid>/status lines an exec'd process
// must share with its container's main process: seccomp mode and filter
// count, every capability set, no_new_privs, the credentials, the umask and
// the speculation mitigation a seccomp filter's flags choose, and the
// blocked and ignored signals, the CPUs and memory nodes allowed.
var execSecurityFields = []string{
	"Uid:", "Gid:", "Groups:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:",
	"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "Umask:", "Speculation_Store_Bypass:",
	"SigBlk:", "SigIgn:", "Cpus_allowed_list:", "Mems_allowed_list:",
}

// Issue 13: whatever makes an exec cheaper must leave the exec'd process
// exactly as confined as the container's own: the same seccomp filter (the
// BPF program itself: deciding alike, and byte for byte since podd's exec
// loads the program it reads back from the main process), capabilities,
// no_new_privs, user and groups, umask, cgroup, namespaces, rlimits and
// oom_score_adj as the main process (pid 1 of the container's PID
// namespace). One container runs with the defaults, one locked down (no
// privilege escalation, a non-root user, all capabilities dropped but one).
func TestExecRunsWithTheContainersSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: xsec}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: defaults
    image: busybox:latest
    command: ["sleep", "1000000"]
  - name: locked
    image: busybox:latest
    command: ["sleep", "1000000"]
    securityContext:
      allowPrivilegeEscalation: false
      runAsUser: 1000
      runAsGroup: 1000
      capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
`)
	p := e.waitRunning("xsec", 60*time.Second)
	for _, c := range []string{"defaults", "locked"} {
		checkExecSecurity(t, e, p, c)
	}
	locked := statusFields(e.execIn("xsec", "locked", "cat", "/proc/self/status"))
	if locked["NoNewPrivs:"] != "1" || locked["CapBnd:"] != "0000000000000400" || !strings.HasPrefix(locked["Uid:"], "1000") {
		t.Errorf("locked container's exec: NoNewPrivs %q CapBnd %q Uid %q, want 1, NET_BIND_SERVICE only, 1000",
			locked["NoNewPrivs:"], locked["CapBnd:"], locked["Uid:"])
	}
}

// The same in a pod with a user namespace of its own (hostUsers: false):
// the exec'd process joins that namespace first and runs as the
// container's users mapped into the pod's block of host IDs.
func TestExecRunsWithTheContainersSecurityInAUserNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--pod-userns-ids", "1048576:131072")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: xsecu}
spec:
  hostUsers: false
  terminationGracePeriodSeconds: 0
  containers:
  - name: defaults
    image: busybox:latest
    command: ["sleep", "1000000"]
  - name: locked
    image: busybox:latest
    command: ["sleep", "1000000"]
    securityContext:
      allowPrivilegeEscalation: false
      runAsUser: 1000
      runAsGroup: 1000
      capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
`)
	p := e.waitRunning("xsecu", 60*time.Second)
	for _, c := range []string{"defaults", "locked"} {
		checkExecSecurity(t, e, p, c)
	}
	if m := strings.Join(strings.Fields(e.execIn("xsecu", "defaults", "cat", "/proc/self/uid_map")), " "); m != "0 1048576 65536" {
		t.Errorf("exec'd process's uid_map %q, want the pod's block", m)
	}
}

// checkExecSecurity compares, in container c of pod p, a process exec'd
// into it with the container's main process: from inside (status fields,
// cgroup, limits, oom_score_adj, namespaces) and from the host (the seccomp
// programs of both, dumped with ptrace).
func checkExecSecurity(t *testing.T, e *env, p *corev1.Pod, c string) {
	t.Helper()
	pod := p.Name
	main := statusFields(e.execIn(pod, c, "cat", "/proc/1/status"))
	exec := statusFields(e.execIn(pod, c, "cat", "/proc/self/status"))
	for _, f := range execSecurityFields {
		if _, ok := main[f]; !ok {
			t.Errorf("container %s: no %s line in the main process's status", c, f)
		} else if exec[f] != main[f] {
			t.Errorf("container %s: exec'd process %s %q, main process %q", c, f, exec[f], main[f])
		}
	}
	if main["Seccomp:"] != "2" {
		t.Errorf("container %s: seccomp mode %q, want 2 (the default filter)", c, main["Seccomp:"])
	}
	for _, file := range []string{"cgroup", "limits", "oom_score_adj"} {
		if m, x := e.execIn(pod, c, "cat", "/proc/1/"+file), e.execIn(pod, c, "cat", "/proc/self/"+file); m != x {
			t.Errorf("container %s: exec'd process /proc/self/%s\n%s\nmain process\n%s", c, file, x, m)
		}
	}
	ns := "for n in cgroup ipc mnt net pid user uts; do echo $n $(readlink /proc/$P/ns/$n); done"
	m := e.execIn(pod, c, "sh", "-c", strings.ReplaceAll(ns, "$P", "1"))
	x := e.execIn(pod, c, "sh", "-c", strings.ReplaceAll(ns, "$P", "self"))
	if m != x || !strings.Contains(m, "pid:[") {
		t.Errorf("container %s: exec'd process namespaces\n%s\nmain process\n%s", c, x, m)
	}

	mainPid, execPid := e.execSleeper(t, p, c)
	mainProg, execProg := seccompFilters(t, mainPid), seccompFilters(t, execPid)
	if len(mainProg) == 0 {
		t.Fatalf("container %s: the main process has no seccomp filter", c)
	}
	// The comparison means something only if the interpreter runs the
	// program: read is allowed, kexec_load refused with EPERM.
	call := func(nr uint32) uint32 {
		data := make([]byte, 64)
		binary.NativeEndian.PutUint32(data[0:], nr)
		binary.NativeEndian.PutUint32(data[4:], 0xc000003e)
		return runBPF(mainProg[0], data)
	}
	if read, kexec := call(unix.SYS_READ), call(unix.SYS_KEXEC_LOAD); read != unix.SECCOMP_RET_ALLOW || kexec != unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM) {
		t.Errorf("container %s: the main process's filter returns %#x for read, %#x for kexec_load; want allow, EPERM", c, read, kexec)
	}
	if !slices.EqualFunc(mainProg, execProg, sameFilter) {
		t.Errorf("container %s: exec'd process's seccomp programs (%s) decide unlike the main process's (%s)%s",
			c, progSizes(execProg), progSizes(mainProg), firstDifference(mainProg, execProg))
	} else if !slices.EqualFunc(mainProg, execProg, slices.Equal[[]unix.SockFilter]) {
		// podd's exec loads the program read back from the main process.
		t.Errorf("container %s: exec'd process's seccomp programs (%s) are not byte for byte the main process's (%s)%s",
			c, progSizes(execProg), progSizes(mainProg), firstDifference(mainProg, execProg))
	}
}

// execSleeper execs a `sleep` into container c of pod p for the rest of the
// test and returns the host pids of the container's main process and of
// that sleep: the shim's children in the container's PID namespace, pid 1
// there and the other one.
func (e *env) execSleeper(t *testing.T, p *corev1.Pod, c string) (mainPid, execPid int) {
	t.Helper()
	pidns := strings.TrimSpace(e.execIn(p.Name, c, "readlink", "/proc/1/ns/pid"))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "podctl"), "--socket", e.socket, "exec", p.Name, "-c", c, "--", "sleep", "1000000")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Ending podctl ends the exec stream, and the shim kills the sleep.
		cancel()
		_ = cmd.Wait()
	})
	shimPid := e.identity(p).ShimPid
	deadline := time.Now().Add(testutil.Scaled(20 * time.Second))
	for time.Now().Before(deadline) {
		mainPid, execPid = 0, 0
		tasks, _ := filepath.Glob("/proc/" + shimPid + "/task/*/children")
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			for _, f := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(f)
				if nsLink(pid, "pid") != pidns {
					continue
				}
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				nspid := strings.Fields(statusFields(string(status))["NSpid:"])
				switch {
				case len(nspid) > 0 && nspid[len(nspid)-1] == "1":
					mainPid = pid
				case strings.TrimSpace(string(comm)) == "sleep":
					execPid = pid
				}
			}
		}
		if mainPid != 0 && execPid != 0 {
			return mainPid, execPid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s of pod %s: main process %d, exec'd sleep %d: not both found among the shim's children", c, p.Name, mainPid, execPid)
	return 0, 0
}

// seccompFilters returns the seccomp programs process pid runs under, the
// most recently loaded first, read with PTRACE_SECCOMP_GET_FILTER (the
// process is stopped for it and released at once).
func seccompFilters(t *testing.T, pid int) [][]unix.SockFilter {
	t.Helper()
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceSeize(pid); err != nil {
		t.Fatalf("ptrace seize %d: %v", pid, err)
	}
	defer unix.PtraceDetach(pid)
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(pid), 0, 0, 0, 0); errno != 0 {
		t.Fatalf("ptrace interrupt %d: %v", pid, errno)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		t.Fatalf("wait for traced %d: %v", pid, err)
	}
	var out [][]unix.SockFilter
	for i := 0; ; i++ {
		n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(i), 0, 0, 0)
		if errno == unix.ENOENT || errno == unix.EINVAL && i > 0 {
			return out
		}
		if errno != 0 {
			t.Fatalf("seccomp filter %d of %d: %v", i, pid, errno)
		}
		prog := make([]unix.SockFilter, n)
		if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(i),
			uintptr(unsafe.Pointer(&prog[0])), 0, 0); errno != 0 {
			t.Fatalf("seccomp filter %d of %d: %v", i, pid, errno)
		}
		out = append(out, prog)
	}
}

// sameFilter reports whether two seccomp programs decide alike: the same
// action for every architecture, syscall and argument value that matters
// (each constant either program compares an argument with, in each slot).
// Byte equality asks too much of libcontainer's own exec: runc lays its
// ENOSYS stub out in Go map order, so the programs it loads into the main
// process and into an exec'd one differ in layout from one load to the
// next while deciding alike.
func sameFilter(a, b []unix.SockFilter) bool {
	consts := map[uint32]bool{0: true, 0xffffffff: true}
	for _, p := range [][]unix.SockFilter{a, b} {
		for _, in := range p {
			if in.Code&0x07 == 0x05 {
				consts[in.K] = true
			}
		}
	}
	for _, arch := range []uint32{0xc000003e, 0x40000003, 0xc00000b7, 0} {
		for _, nr := range syscallNumbers() {
			data := make([]byte, 64)
			binary.NativeEndian.PutUint32(data[0:], nr)
			binary.NativeEndian.PutUint32(data[4:], arch)
			if runBPF(a, data) != runBPF(b, data) {
				return false
			}
			if arch != 0xc000003e || nr >= 1024 {
				continue
			}
			for arg := 0; arg < 6; arg++ {
				for k := range consts {
					for _, hi := range []uint32{0, 0xffffffff} {
						d := slices.Clone(data)
						binary.NativeEndian.PutUint32(d[16+8*arg:], k)
						binary.NativeEndian.PutUint32(d[20+8*arg:], hi)
						if runBPF(a, d) != runBPF(b, d) {
							return false
						}
					}
				}
			}
		}
	}
	return true
}

// syscallNumbers are the syscall numbers sameFilter tries: every number
// x86_64 and i386 have and some past them, the same as x32 calls, and -1.
func syscallNumbers() []uint32 {
	var out []uint32
	for nr := uint32(0); nr < 1100; nr++ {
		out = append(out, nr, nr|0x40000000)
	}
	return append(out, 0xffffffff)
}

// runBPF runs a classic BPF program over data (a struct seccomp_data) and
// returns what it returns; 0 (kill) for an instruction it does not know.
func runBPF(prog []unix.SockFilter, data []byte) uint32 {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint32) uint32 {
		if int(off)+4 > len(data) {
			return 0
		}
		return binary.NativeEndian.Uint32(data[off:])
	}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		src := in.K
		if in.Code&0x08 != 0 {
			src = x
		}
		switch in.Code & 0x07 {
		case 0x00: // LD
			switch in.Code & 0xe0 {
			case 0x00:
				a = in.K
			case 0x20:
				a = load(in.K)
			case 0x60:
				a = mem[in.K&15]
			case 0x80:
				a = uint32(len(data))
			default:
				return 0
			}
		case 0x01: // LDX
			switch in.Code & 0xe0 {
			case 0x00:
				x = in.K
			case 0x60:
				x = mem[in.K&15]
			case 0x80:
				x = uint32(len(data))
			default:
				return 0
			}
		case 0x02: // ST
			mem[in.K&15] = a
		case 0x03: // STX
			mem[in.K&15] = x
		case 0x04: // ALU
			switch in.Code & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x20:
				a *= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src
			case 0x70:
				a >>= src
			case 0x80:
				a = -a
			case 0xa0:
				a ^= src
			default:
				return 0
			}
		case 0x05: // JMP
			var taken bool
			switch in.Code & 0xf0 {
			case 0x00:
				pc += int(in.K)
				continue
			case 0x10:
				taken = a == src
			case 0x20:
				taken = a > src
			case 0x30:
				taken = a >= src
			case 0x40:
				taken = a&src != 0
			default:
				return 0
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x06: // RET
			if in.Code&0x18 == 0x10 {
				return a
			}
			return in.K
		case 0x07: // MISC
			if in.Code&0xf8 == 0x80 {
				a = x
			} else {
				x = a
			}
		}
	}
	return 0
}

// progSizes lists the instruction counts of seccomp programs.
func progSizes(progs [][]unix.SockFilter) string {
	s := make([]string, len(progs))
	for i, p := range progs {
		s[i] = strconv.Itoa(len(p))
	}
	return strings.Join(s, ", ") + " instructions"
}

// firstDifference describes the first instruction where two sets of
// seccomp programs differ.
func firstDifference(a, b [][]unix.SockFilter) string {
	for i := range min(len(a), len(b)) {
		for j := range min(len(a[i]), len(b[i])) {
			if a[i][j] != b[i][j] {
				return fmt.Sprintf(": program %d instruction %d is %+v in the main process, %+v in the exec'd one", i, j, a[i][j], b[i][j])
			}
		}
	}
	return ""
}

// statusFields maps each "Name:" of a /proc/<pid>/status to its value with
// runs of white space made single spaces.
func statusFields(status string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasSuffix(f[0], ":") {
			out[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return out
}
