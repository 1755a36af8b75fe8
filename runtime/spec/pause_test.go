package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func pausePod(spec corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}, Spec: spec}
}

func TestPauseConfig_R94(t *testing.T) {
	const netns = "/run/podd/netns/sb1"
	ns := func(typ, path string) *shimv1.Namespace { return &shimv1.Namespace{Type: typ, Path: path} }
	share := true
	cases := []struct {
		name     string
		spec     corev1.PodSpec
		hostname string
		want     []*shimv1.Namespace
	}{
		{"pod network", corev1.PodSpec{}, "web",
			[]*shimv1.Namespace{ns("net", netns), ns("uts", ""), ns("ipc", "")}},
		{"R91 spec.hostname", corev1.PodSpec{Hostname: "front"}, "front",
			[]*shimv1.Namespace{ns("net", netns), ns("uts", ""), ns("ipc", "")}},
		{"hostNetwork keeps the host's net and uts", corev1.PodSpec{HostNetwork: true}, "",
			[]*shimv1.Namespace{ns("ipc", "")}},
		{"hostIPC and hostPID", corev1.PodSpec{HostIPC: true, HostPID: true}, "web",
			[]*shimv1.Namespace{ns("net", netns), ns("uts", "")}},
		{"shareProcessNamespace: the pause is PID 1", corev1.PodSpec{ShareProcessNamespace: &share}, "web",
			[]*shimv1.Namespace{ns("net", netns), ns("uts", ""), ns("ipc", ""), ns("pid", "")}},
		{"hostPID wins over shareProcessNamespace", corev1.PodSpec{HostPID: true, ShareProcessNamespace: &share}, "web",
			[]*shimv1.Namespace{ns("net", netns), ns("uts", ""), ns("ipc", "")}},
	}
	for _, tc := range cases {
		cfg, err := PauseConfig(PauseInput{Pod: pausePod(tc.spec), Binary: "/usr/bin/podd-pause",
			NetnsPath: netns, CgroupParent: "/podd/podu1", LogPath: "/run/podd/pods/u1/pause.log"})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(cfg.Namespaces, tc.want) {
			t.Errorf("%s: namespaces %v, want %v", tc.name, cfg.Namespaces, tc.want)
		}
		if cfg.Hostname != tc.hostname {
			t.Errorf("%s: hostname %q, want %q", tc.name, cfg.Hostname, tc.hostname)
		}
		// The shim execs the host binary as the holder: no rootfs, mounts,
		// capabilities or seccomp filter of a container.
		if cfg.Id != PauseID || !cfg.Holder || !reflect.DeepEqual(cfg.Args, []string{"/usr/bin/podd-pause"}) ||
			cfg.CgroupPath != "/podd/podu1/pause" || cfg.User.Uid != PauseUID || cfg.User.Gid != PauseUID ||
			!cfg.NoNewPrivileges || cfg.Rootfs != "" || len(cfg.Mounts) != 0 || len(cfg.Capabilities) != 0 ||
			cfg.Seccomp != nil || cfg.LogPath != "/run/podd/pods/u1/pause.log" {
			t.Errorf("%s: config %+v", tc.name, cfg)
		}
		// The C pause reads no environment: PATH only, no Go runtime knob.
		if !slices.Equal(cfg.Env, []string{DefaultPath}) {
			t.Errorf("%s: env %q, want only %q", tc.name, cfg.Env, DefaultPath)
		}
	}
}

func TestPauseConfig_Sysctls(t *testing.T) {
	pod := pausePod(corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
		{Name: "net/ipv4/ip_unprivileged_port_start", Value: "0"}, {Name: "kernel.shm_rmid_forced", Value: "1"}}}})
	cfg, err := PauseConfig(PauseInput{Pod: pod, Binary: "/b", NetnsPath: "/ns", CgroupParent: "/p"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1"}
	if !reflect.DeepEqual(cfg.Sysctls, want) {
		t.Errorf("sysctls %v, want %v", cfg.Sysctls, want)
	}
}

func TestPauseConfig_RequiresInputs(t *testing.T) {
	if _, err := PauseConfig(PauseInput{Pod: pausePod(corev1.PodSpec{}), Binary: "/b", CgroupParent: "/p"}); err == nil {
		t.Errorf("missing netns accepted")
	}
	if _, err := PauseConfig(PauseInput{Pod: pausePod(corev1.PodSpec{HostNetwork: true}), Binary: "b", CgroupParent: "/p"}); err == nil {
		t.Errorf("relative binary path accepted")
	}
	if _, err := PauseConfig(PauseInput{Pod: pausePod(corev1.PodSpec{HostNetwork: true}), Binary: "/b", CgroupParent: "/p"}); err != nil {
		t.Errorf("hostNetwork without netns: %v", err)
	}
}

func TestPodHostname_R91(t *testing.T) {
	long := strings.Repeat("a", 62) + "-.b"
	cases := []struct {
		name, hostname, want string
	}{
		{"web", "", "web"},
		{"web", "front", "front"},
		{long, "", strings.Repeat("a", 62)},
	}
	for _, tc := range cases {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.name}, Spec: corev1.PodSpec{Hostname: tc.hostname}}
		if got := PodHostname(pod); got != tc.want {
			t.Errorf("PodHostname(%q, %q) = %q, want %q", tc.name, tc.hostname, got, tc.want)
		}
	}
}
