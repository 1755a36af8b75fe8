package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

func decodeFilter(t *testing.T, b []byte) *specs.LinuxSeccomp {
	t.Helper()
	if b == nil {
		return nil
	}
	var f specs.LinuxSeccomp
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("filter is not runtime-spec JSON: %v", err)
	}
	return &f
}

// allows reports whether a rule allows the syscall (unconditionally or not).
func allows(f *specs.LinuxSeccomp, name string) bool {
	for _, s := range f.Syscalls {
		if s.Action == specs.ActAllow && slices.Contains(s.Names, name) {
			return true
		}
	}
	return false
}

func profile(typ corev1.SeccompProfileType, local string) *corev1.SeccompProfile {
	p := &corev1.SeccompProfile{Type: typ}
	if local != "" {
		p.LocalhostProfile = &local
	}
	return p
}

func TestSeccompFilter_RuntimeDefaultAndUnconfined(t *testing.T) {
	on := HostSecurity{SeccompDefault: true}
	cases := []struct {
		name       string
		profile    *corev1.SeccompProfile
		caps       []string
		privileged bool
		host       HostSecurity
		filter     bool
		unshare    bool
	}{
		{"RuntimeDefault", profile(corev1.SeccompProfileTypeRuntimeDefault, ""), DefaultCapabilities, false, HostSecurity{}, true, false},
		{"unset with seccompDefault", nil, DefaultCapabilities, false, on, true, false},
		{"unset without seccompDefault", nil, DefaultCapabilities, false, HostSecurity{}, false, false},
		{"Unconfined", profile(corev1.SeccompProfileTypeUnconfined, ""), DefaultCapabilities, false, on, false, false},
		{"privileged runs unconfined", profile(corev1.SeccompProfileTypeRuntimeDefault, ""), allCapabilities, true, on, false, false},
		{"CAP_SYS_ADMIN allows unshare", nil, append([]string{"CAP_SYS_ADMIN"}, DefaultCapabilities...), false, on, true, true},
	}
	for _, tc := range cases {
		b, err := seccompFilter(tc.profile, tc.caps, tc.privileged, tc.host)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		f := decodeFilter(t, b)
		if (f != nil) != tc.filter {
			t.Errorf("%s: filter %v, want %v", tc.name, f != nil, tc.filter)
			continue
		}
		if f == nil {
			continue
		}
		// With CAP_SYS_ADMIN the profile allows perf_event_open too.
		if f.DefaultAction != specs.ActErrno || !allows(f, "read") || allows(f, "keyctl") || (!tc.unshare && allows(f, "perf_event_open")) {
			t.Errorf("%s: not the default profile: default %s, read %v, keyctl %v", tc.name, f.DefaultAction, allows(f, "read"), allows(f, "keyctl"))
		}
		if slices.Contains(f.Architectures, specs.ArchX32) || !slices.Contains(f.Architectures, specs.ArchX86) {
			t.Errorf("%s: architectures %v, want x86_64 and x86 without x32", tc.name, f.Architectures)
		}
		if allows(f, "unshare") != tc.unshare {
			t.Errorf("%s: unshare allowed %v, want %v", tc.name, allows(f, "unshare"), tc.unshare)
		}
	}
}

func TestSeccompFilter_Localhost(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "team/no-mkdir.json"),
		`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`)
	writeFile(t, filepath.Join(root, "broken.json"), `{"defaultAction": `)
	host := HostSecurity{SeccompDefault: true, SeccompRoot: root}
	b, err := seccompFilter(profile(corev1.SeccompProfileTypeLocalhost, "team/no-mkdir.json"), DefaultCapabilities, false, host)
	if err != nil {
		t.Fatal(err)
	}
	f := decodeFilter(t, b)
	if f == nil || f.DefaultAction != specs.ActAllow || len(f.Syscalls) != 1 || f.Syscalls[0].Action != specs.ActErrno ||
		!slices.Equal(f.Syscalls[0].Names, []string{"mkdir", "mkdirat"}) {
		t.Errorf("Localhost filter %+v", f)
	}
	for _, tc := range []struct{ local, want string }{
		{"team/absent.json", "team/absent.json"},
		{"broken.json", "broken.json"},
		{"../etc/x.json", "relative path inside"},
		{"/etc/x.json", "relative path inside"},
		{"", "needs localhostProfile"},
	} {
		_, err := seccompFilter(profile(corev1.SeccompProfileTypeLocalhost, tc.local), DefaultCapabilities, false, host)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Localhost %q: error %v, want one containing %q", tc.local, err, tc.want)
		}
	}
	if _, err := seccompFilter(profile(corev1.SeccompProfileTypeLocalhost, "team/no-mkdir.json"), nil, false, HostSecurity{}); err == nil {
		t.Error("Localhost without a profile directory: no error")
	}
}

// The container's profile wins over the pod's; Build sends
// the filter to the shim.
func TestBuild_Seccomp(t *testing.T) {
	in := testInput(t)
	in.Security = HostSecurity{SeccompDefault: true}
	in.Pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: profile(corev1.SeccompProfileTypeUnconfined, "")}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seccomp != nil {
		t.Errorf("pod Unconfined: filter sent")
	}
	in.Container.SecurityContext = &corev1.SecurityContext{SeccompProfile: profile(corev1.SeccompProfileTypeRuntimeDefault, "")}
	if cfg, err = Build(in); err != nil {
		t.Fatal(err)
	}
	if f := decodeFilter(t, cfg.Seccomp); f == nil || f.DefaultAction != specs.ActErrno {
		t.Errorf("container RuntimeDefault over pod Unconfined: filter %v", f)
	}
	in.Container.SecurityContext.SeccompProfile = profile(corev1.SeccompProfileTypeLocalhost, "absent.json")
	in.Security.SeccompRoot = t.TempDir()
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), `container "app"`) {
		t.Errorf("missing Localhost profile: error %v", err)
	}
}

func TestSysctlName(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.ip_forward":            "net.ipv4.ip_forward",
		"net/ipv4/ip_forward":            "net.ipv4.ip_forward",
		"net/ipv4/conf/eth0.1/rp_filter": "net.ipv4.conf.eth0/1.rp_filter",
		"net.ipv4.conf.eth0/1.rp_filter": "net.ipv4.conf.eth0/1.rp_filter",
		"kernel":                         "kernel",
		"net/../../kernel/core_pattern":  "net.//.//.kernel.core_pattern",
	} {
		if got := SysctlName(in); got != want {
			t.Errorf("SysctlName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostBoundingSet(t *testing.T) {
	got, err := HostBoundingSet()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "CapBnd:\t000001ffffffffff") && len(got) != len(allCapabilities) {
		t.Errorf("full bounding set read as %d capabilities", len(got))
	}
	if len(got) == 0 || !slices.IsSortedFunc(got, func(a, b string) int {
		return slices.Index(allCapabilities, a) - slices.Index(allCapabilities, b)
	}) {
		t.Errorf("bounding set %v: empty or out of order", got)
	}
}

// The default filter of a capability set is built and encoded once: at
// every container start it cost the daemon ~37 KB of allocations (7 % of
// its allocations in a burst of 200 pods). Each set keeps its own filter.
func TestDefaultSeccompFilterIsBuiltOncePerCapabilitySet(t *testing.T) {
	host := HostSecurity{SeccompDefault: true}
	first, err := seccompFilter(nil, DefaultCapabilities, false, host)
	if err != nil || first == nil {
		t.Fatalf("default filter = %d bytes, %v", len(first), err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if b, err := seccompFilter(nil, DefaultCapabilities, false, host); err != nil || string(b) != string(first) {
			t.Fatalf("default filter again = %d bytes, %v; want the first", len(b), err)
		}
	})
	if allocs > 5 {
		t.Errorf("the default filter of a capability set seen before made %.0f allocations, want at most 5", allocs)
	}
	withAdmin, err := seccompFilter(nil, append(slices.Clone(DefaultCapabilities), "CAP_SYS_ADMIN"), false, host)
	if err != nil {
		t.Fatal(err)
	}
	if string(withAdmin) == string(first) {
		t.Error("CAP_SYS_ADMIN got the filter of the default capabilities")
	}
}

// The default filter handed to containers is the compacted profile: socket's
// address families as a few masked-equality rules, not moby's one rule per
// family (31), which the init's compile pays for at every start.
func TestDefaultSeccompFilterIsCompacted(t *testing.T) {
	b, err := seccompFilter(nil, DefaultCapabilities, false, HostSecurity{SeccompDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	var f specs.LinuxSeccomp
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	socket := 0
	for _, r := range f.Syscalls {
		if slices.Contains(r.Names, "socket") && len(r.Args) > 0 {
			socket++
		}
	}
	if socket == 0 || socket > 16 {
		t.Errorf("the default filter has %d argument rules for socket, want 1-16 (compacted)", socket)
	}
}
