package libct

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// An exec opens the namespaces of a container's init only while that init
// is the one it started: once the init has ended and been reaped (its pid
// free for another process), the exec is refused as not running.
func TestOpenNamespacesOfAnEndedInit(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	defer pidfd.Close()
	nss := configs.Namespaces{{Type: configs.NEWUTS}, {Type: configs.NEWIPC}}

	ns, err := openNamespaces(cmd.Process.Pid, pidfd, nss)
	if err != nil || len(ns) != 2 || ns[0].Type != unix.CLONE_NEWUTS {
		t.Fatalf("namespaces of a running init: %v, %v", ns, err)
	}
	for _, n := range ns {
		n.File.Close()
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if ns, err := openNamespaces(cmd.Process.Pid, pidfd, nss); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("namespaces of an ended init: %v, %v; want not running", ns, err)
	}
}

// execEnv follows runc's prepareEnv: the last of a variable wins where it
// last appears, an empty HOME counts as none, and none becomes the user's.
func TestExecEnv(t *testing.T) {
	home := func() string { return "/home/u" }
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"PATH=/bin", "A=1", "B=2", "A=3"}, []string{"PATH=/bin", "B=2", "A=3", "HOME=/home/u"}},
		{[]string{"HOME=/root", "X=1"}, []string{"HOME=/root", "X=1"}},
		{[]string{"HOME=/root", "HOME="}, []string{"HOME=/home/u"}},
	} {
		got, err := execEnv(tc.in, home)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("execEnv(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"NOEQUALS", "=v", "A=b\x00c"} {
		if _, err := execEnv([]string{bad}, home); err == nil {
			t.Errorf("execEnv(%q): no error", bad)
		}
	}
}

// Capability names become masks the way runc reads them; an unknown name
// is left out, as runc leaves it out.
func TestCapMasks(t *testing.T) {
	masks, last, err := capMasks(&configs.Capabilities{
		Bounding:  []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_NOT_A_THING"},
		Effective: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:   []string{"CAP_SYS_ADMIN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if masks[0] != 1<<unix.CAP_CHOWN|1<<unix.CAP_NET_BIND_SERVICE || masks[1] != 1<<unix.CAP_NET_BIND_SERVICE ||
		masks[2] != 0 || masks[3] != 0 || masks[4] != 1<<unix.CAP_SYS_ADMIN || last < unix.CAP_AUDIT_READ {
		t.Errorf("masks %x, last cap %d", masks, last)
	}
}

// Exec refuses what it would not apply rather than ignore it.
func TestCheckExecable(t *testing.T) {
	if err := checkExecable(&configs.Config{}); err != nil {
		t.Errorf("plain config: %v", err)
	}
	for _, cfg := range []*configs.Config{{AppArmorProfile: "p"}, {ProcessLabel: "l"}, {Personality: &configs.LinuxPersonality{}}} {
		if err := checkExecable(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	if _, err := seccompFlags(&configs.Seccomp{Syscalls: []*configs.Syscall{{Action: configs.Notify}}}); err == nil {
		t.Error("a seccomp profile with a notify action: no error")
	}
	if f, err := seccompFlags(&configs.Seccomp{Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}); err != nil ||
		f != unix.SECCOMP_FILTER_FLAG_LOG|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW {
		t.Errorf("seccomp flags: %#x, %v", f, err)
	}
}

// What an exec needs of a seccomp profile: whether there is one, the
// flags it is loaded with, or why an exec cannot apply it.
func TestNewExecSeccomp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile *configs.Seccomp
		want    execSeccomp
		err     string
	}{
		{"no profile", nil, execSeccomp{}, ""},
		{"no flags", &configs.Seccomp{}, execSeccomp{on: true}, ""},
		{"flags", &configs.Seccomp{Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
			execSeccomp{on: true, flags: unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}, ""},
		{"notify action", &configs.Seccomp{Syscalls: []*configs.Syscall{{Name: "mkdir", Action: configs.Notify}}},
			execSeccomp{on: true}, "the container's seccomp profile notifies an agent, which podd's exec does not support"},
		{"flag exec cannot set", &configs.Seccomp{Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
			execSeccomp{on: true}, "seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by podd's exec"},
	} {
		got := newExecSeccomp(tc.profile)
		gotErr := ""
		if got.err != nil {
			gotErr = got.err.Error()
		}
		if got.on != tc.want.on || got.flags != tc.want.flags || gotErr != tc.err {
			t.Errorf("%s: %+v, want %+v (error %q)", tc.name, got, tc.want, tc.err)
		}
	}
}
