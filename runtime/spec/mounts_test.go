package spec

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func TestBuild_R92_VolumeMounts(t *testing.T) {
	in := testInput(t)
	data, host := t.TempDir(), t.TempDir()
	in.Volumes = map[string]string{"data": data, "host": host}
	hostToContainer := corev1.MountPropagationHostToContainer
	rro := corev1.RecursiveReadOnlyEnabled
	in.Container.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	in.Container.VolumeMounts = []corev1.VolumeMount{
		{Name: "data", MountPath: "/data/"},
		{Name: "host", MountPath: "/host", ReadOnly: true, MountPropagation: &hostToContainer},
		{Name: "host", MountPath: "/host-rro", ReadOnly: true, RecursiveReadOnly: &rro},
		{Name: "data", MountPath: "/sub", SubPath: "a/b"},
		{Name: "data", MountPath: "/expr", SubPathExpr: "logs/$(POD)"},
	}
	in.Files = PodFiles{Hosts: "/pods/hosts", ResolvConf: "/pods/resolv.conf", Hostname: "/pods/hostname"}
	subs, err := SubPaths(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "", "", "a/b", "logs/web"}; !reflect.DeepEqual(subs, want) {
		t.Errorf("SubPaths = %q, want %q", subs, want)
	}
	in.Staged = map[int]string{3: "/staged/3", 4: "/staged/4"}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []*shimv1.Mount{
		{Source: data, Destination: "/data", Type: "bind", Options: []string{"rbind", "rprivate"}},
		{Source: host, Destination: "/host", Type: "bind", Options: []string{"rbind", "rslave", "ro"}},
		{Source: host, Destination: "/host-rro", Type: "bind", Options: []string{"rbind", "rprivate", "ro", "rro"}},
		{Source: "/staged/3", Destination: "/sub", Type: "bind", Options: []string{"rbind", "rprivate"}},
		{Source: "/staged/4", Destination: "/expr", Type: "bind", Options: []string{"rbind", "rprivate"}},
		{Source: "/pods/hosts", Destination: "/etc/hosts", Type: "bind", Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}},
		{Source: "/pods/resolv.conf", Destination: "/etc/resolv.conf", Type: "bind", Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}},
		{Source: "/pods/hostname", Destination: "/etc/hostname", Type: "bind", Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}},
	}
	if !reflect.DeepEqual(cfg.Mounts, want) {
		t.Errorf("mounts\n got %v\nwant %v", cfg.Mounts, want)
	}
}

func TestBuild_PodFilesYieldToContainerMounts(t *testing.T) {
	in := testInput(t)
	in.Volumes = map[string]string{"etc": t.TempDir()}
	in.Container.VolumeMounts = []corev1.VolumeMount{{Name: "etc", MountPath: "/etc/hosts"}}
	yes := true
	in.Container.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes}
	in.Files = PodFiles{Hosts: "/pods/hosts", ResolvConf: "/pods/resolv.conf"}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Mounts) != 2 || cfg.Mounts[1].Destination != "/etc/resolv.conf" {
		t.Fatalf("mounts %v, want the volume then resolv.conf only", cfg.Mounts)
	}
	if opts := cfg.Mounts[1].Options; opts[len(opts)-1] != "ro" {
		t.Errorf("resolv.conf of a read-only rootfs mounted with %v", opts)
	}
}

// A subPath is bound only as runtime/volume staged it: Build never hands
// runc a path inside a volume that a container could swap for a link
// (CVE-2021-25741).
func TestBuild_SubPathIsBoundOnlyWhenStaged(t *testing.T) {
	in := testInput(t)
	in.Volumes = map[string]string{"v": t.TempDir()}
	in.Container.VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/m", SubPath: "sub"}}
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), `subPath "sub" is not staged`) {
		t.Errorf("unstaged subPath: err = %v", err)
	}
	for _, m := range []corev1.VolumeMount{
		{Name: "v", MountPath: "/m", SubPath: "../x"},
		{Name: "v", MountPath: "/m", SubPath: "/etc"},
		{Name: "v", MountPath: "/m", SubPathExpr: "$(NOPE)/../.."},
	} {
		in.Container.VolumeMounts = []corev1.VolumeMount{m}
		if _, err := SubPaths(in); err == nil {
			t.Errorf("SubPaths accepted %+v", m)
		}
		in.Staged = map[int]string{0: "/staged/0"}
		if _, err := Build(in); err == nil {
			t.Errorf("Build accepted %+v", m)
		}
	}
}

func TestBuild_UnpreparedVolumeIsAnError(t *testing.T) {
	in := testInput(t)
	in.Container.VolumeMounts = []corev1.VolumeMount{{Name: "missing", MountPath: "/m"}}
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), `volume "missing" of container "app" is not prepared`) {
		t.Errorf("err = %v", err)
	}
}

func TestBuild_PodShm(t *testing.T) {
	in := testInput(t)
	in.Files = PodFiles{Shm: "/run/podd/pods/u/shm"}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Mounts) != 1 || cfg.Mounts[0].Destination != "/dev/shm" {
		t.Errorf("mounts %v", cfg.Mounts)
	}
}

func TestBuild_DownwardAPIVolumeIsAlwaysReadOnly(t *testing.T) {
	in := testInput(t)
	in.Pod.Spec.Volumes = []corev1.Volume{{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}}}
	in.Volumes = map[string]string{"info": t.TempDir()}
	in.Container.VolumeMounts = []corev1.VolumeMount{{Name: "info", MountPath: "/etc/podinfo"}}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if opts := cfg.Mounts[0].Options; !reflect.DeepEqual(opts, []string{"rbind", "rprivate", "ro"}) {
		t.Errorf("downwardAPI mount options %v, want read-only", opts)
	}
}

func TestBuild_ClaimVolumeReadOnlyIsHonoured(t *testing.T) {
	for _, ro := range []bool{false, true} {
		in := testInput(t)
		in.Pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: ro}}}}
		in.Volumes = map[string]string{"data": t.TempDir()}
		in.Container.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		cfg, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"rbind", "rprivate"}
		if ro {
			want = append(want, "ro")
		}
		if opts := cfg.Mounts[0].Options; !reflect.DeepEqual(opts, want) {
			t.Errorf("readOnly %v: claim mount options %v, want %v", ro, opts, want)
		}
	}
}
