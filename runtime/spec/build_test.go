package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// testInput is a pod "web" with one container "app" and an image rootfs
// holding /etc/passwd and /etc/group.
func testInput(t *testing.T) Input {
	t.Helper()
	rootfs := t.TempDir()
	writeFile(t, filepath.Join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"+
		"app:x:1000:1000::/home/app:/bin/sh\n# comment\nwww:x:33:33::/var/www:/bin/false\n")
	writeFile(t, filepath.Join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nstaff:x:50:app,www\nweb:x:33:\naudio:x:29:app\n")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1", Labels: map[string]string{"app": "shop"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:      "app",
			Image:     "busybox",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
		}}},
	}
	return Input{
		Pod: pod, Container: &pod.Spec.Containers[0], ContainerID: "app-0",
		Image:        image.Config{Entrypoint: []string{"/bin/sh"}},
		Rootfs:       rootfs,
		Volumes:      map[string]string{},
		Sandbox:      Sandbox{NetnsPath: "/run/podd/netns/sb1"},
		PodIPs:       []string{"10.88.0.7"},
		CgroupParent: "/podd/poduid-1",
		LogPath:      "/var/lib/podd/pods/uid-1/logs/app/0.log",
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuild_Basics(t *testing.T) {
	in := testInput(t)
	in.Labels = map[string]string{"extra": "1"}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Id != "app-0" || cfg.Rootfs != in.Rootfs || cfg.Cwd != "/" || cfg.CgroupPath != "/podd/poduid-1/app-0" ||
		cfg.LogPath != in.LogPath || cfg.Hostname != "" {
		t.Errorf("config basics: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Args, []string{"/bin/sh"}) {
		t.Errorf("args %q", cfg.Args)
	}
	if cfg.Labels[LabelPodUID] != "uid-1" || cfg.Labels[LabelContainerName] != "app" || cfg.Labels["extra"] != "1" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if !reflect.DeepEqual(cfg.Capabilities, sortedDefault()) {
		t.Errorf("capabilities %q", cfg.Capabilities)
	}
}

func sortedDefault() []string {
	set := map[string]bool{}
	for _, c := range DefaultCapabilities {
		set[c] = true
	}
	var out []string
	for _, c := range allCapabilities {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

func TestBuild_MissingInputIsAnError(t *testing.T) {
	in := testInput(t)
	in.ContainerID = ""
	in.Sandbox.NetnsPath = ""
	if _, err := Build(in); err == nil || err.Error() != "build container config: missing ContainerID, Sandbox.NetnsPath" {
		t.Errorf("err = %v", err)
	}
}

func TestBuild_WorkingDir(t *testing.T) {
	cases := []struct{ container, image, want string }{
		{"", "", "/"}, {"", "/srv", "/srv"}, {"/work", "/srv", "/work"},
	}
	for _, tc := range cases {
		in := testInput(t)
		in.Container.WorkingDir = tc.container
		in.Image.WorkingDir = tc.image
		cfg, err := Build(in)
		if err != nil || cfg.Cwd != tc.want {
			t.Errorf("workingDir %q / image %q: got %q, %v; want %q", tc.container, tc.image, cfg.GetCwd(), err, tc.want)
		}
	}
}

func TestBuild_R94_Namespaces(t *testing.T) {
	ns := func(typ, path, ctr string) *shimv1.Namespace {
		return &shimv1.Namespace{Type: typ, Path: path, Container: ctr}
	}
	const netns = "/run/podd/netns/sb1"
	cases := []struct {
		name string
		sb   Sandbox
		want []*shimv1.Namespace
	}{
		{"pod network", Sandbox{NetnsPath: netns},
			[]*shimv1.Namespace{ns("mount", "", ""), ns("net", netns, ""), ns("uts", "", "pause"), ns("ipc", "", "pause"), ns("pid", "", "")}},
		{"hostNetwork", Sandbox{HostNetwork: true},
			[]*shimv1.Namespace{ns("mount", "", ""), ns("ipc", "", "pause"), ns("pid", "", "")}},
		{"hostIPC and hostPID", Sandbox{NetnsPath: netns, HostIPC: true, HostPID: true},
			[]*shimv1.Namespace{ns("mount", "", ""), ns("net", netns, ""), ns("uts", "", "pause")}},
		{"shareProcessNamespace", Sandbox{NetnsPath: netns, ShareProcessNamespace: true},
			[]*shimv1.Namespace{ns("mount", "", ""), ns("net", netns, ""), ns("uts", "", "pause"), ns("ipc", "", "pause"), ns("pid", "", "pause")}},
	}
	for _, tc := range cases {
		in := testInput(t)
		in.Sandbox = tc.sb
		cfg, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cfg.Namespaces, tc.want) {
			t.Errorf("%s: namespaces %v, want %v", tc.name, cfg.Namespaces, tc.want)
		}
	}
}

func TestSandboxFor(t *testing.T) {
	share := true
	pod := &corev1.Pod{Spec: corev1.PodSpec{HostIPC: true, ShareProcessNamespace: &share}}
	if got := SandboxFor(pod, "/ns"); got != (Sandbox{NetnsPath: "/ns", HostIPC: true, ShareProcessNamespace: true}) {
		t.Errorf("got %+v", got)
	}
	pod.Spec.HostNetwork = true
	if got := SandboxFor(pod, "/ns"); got.NetnsPath != "" || !got.HostNetwork {
		t.Errorf("hostNetwork: got %+v", got)
	}
}

func TestBuild_SecurityContext(t *testing.T) {
	yes, no := true, false
	in := testInput(t)
	in.Container.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no}
	in.Pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net/ipv4/ip_forward", Value: "1"}}}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ReadonlyRootfs || !cfg.NoNewPrivileges || cfg.Privileged {
		t.Errorf("readonly %v nnp %v privileged %v", cfg.ReadonlyRootfs, cfg.NoNewPrivileges, cfg.Privileged)
	}
	if !reflect.DeepEqual(cfg.Sysctls, map[string]string{"net.ipv4.ip_forward": "1"}) {
		t.Errorf("sysctls %v", cfg.Sysctls)
	}
	in.Container.SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	cfg, err = Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Privileged || len(cfg.Capabilities) != len(allCapabilities) {
		t.Errorf("privileged: %v with %d capabilities", cfg.Privileged, len(cfg.Capabilities))
	}
}

func TestCapabilities(t *testing.T) {
	caps := func(add, drop []corev1.Capability) *corev1.SecurityContext {
		return &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: add, Drop: drop}}
	}
	yes := true
	// This project's CI host lacks CAP_SYS_RESOURCE.
	host := without(allCapabilities, "CAP_SYS_RESOURCE")
	cases := []struct {
		name     string
		sc       *corev1.SecurityContext
		bounding []string
		want     []string
		wantErr  bool
	}{
		{"privileged gets the host's set", &corev1.SecurityContext{Privileged: &yes}, host, host, false},
		{"add ALL gets the host's set", caps([]corev1.Capability{"ALL"}, nil), host, host, false},
		{"add of a capability the host lacks", caps([]corev1.Capability{"SYS_RESOURCE"}, nil), host, nil, true},
		{"defaults the host lacks are left out", nil, without(allCapabilities, "CAP_MKNOD"), without(sortedDefault(), "CAP_MKNOD"), false},
		{"drop ALL", caps(nil, []corev1.Capability{"ALL"}), nil, []string{}, false},
		{"drop ALL add one", caps([]corev1.Capability{"NET_BIND_SERVICE"}, []corev1.Capability{"ALL"}), nil, []string{"CAP_NET_BIND_SERVICE"}, false},
		{"add with prefix, lower case", caps([]corev1.Capability{"cap_net_admin"}, []corev1.Capability{"ALL"}), nil, []string{"CAP_NET_ADMIN"}, false},
		{"drop one of the defaults", caps(nil, []corev1.Capability{"NET_RAW"}), nil, without(sortedDefault(), "CAP_NET_RAW"), false},
		{"add ALL", caps([]corev1.Capability{"ALL"}, nil), nil, allCapabilities, false},
		{"unknown name", caps([]corev1.Capability{"FLY"}, nil), nil, nil, true},
	}
	for _, tc := range cases {
		got, err := capabilities(tc.sc, tc.bounding)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
