package spec

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
)

func criInput(t *testing.T) CRIInput {
	t.Helper()
	rootfs := testInput(t).Rootfs
	return CRIInput{
		ContainerID: "c1", Name: "app", PodName: "web", PodNamespace: "default", PodUID: "uid-1", Hostname: "web",
		Sandbox: Sandbox{NetnsPath: "/run/podd/netns/sb1"}, PodIPs: []string{"10.88.0.7"},
		CgroupParent: "/podd/crisb1", Image: image.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}},
		Rootfs: rootfs, LogPath: "/var/log/pods/x/app/0.log",
	}
}

func TestBuildCRI(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "profile.json")
	writeFile(t, profile, `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`)
	for _, tc := range []struct {
		name    string
		mut     func(*CRIInput)
		check   func(*testing.T, *shimv1.ContainerConfig)
		wantErr string
	}{
		{name: "command, args, env, cwd, resources and labels as given", mut: func(in *CRIInput) {
			in.Command, in.Args = []string{"/bin/echo"}, []string{"hi"}
			in.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
			in.WorkingDir = "/tmp"
			in.Resources = &shimv1.Resources{CpuShares: 512, CpuQuotaUs: 50000, CpuPeriodUs: 100000, MemoryLimitBytes: 1 << 26}
			in.OOMScoreAdj = 1000
			in.Labels = map[string]string{"io.kubernetes.container.name": "app"}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if !reflect.DeepEqual(cfg.Args, []string{"/bin/echo", "hi"}) || cfg.Cwd != "/tmp" {
				t.Errorf("args %q cwd %q", cfg.Args, cfg.Cwd)
			}
			if !contains(cfg.Env, "A=1") || !contains(cfg.Env, "HOSTNAME=web") {
				t.Errorf("env %q", cfg.Env)
			}
			if r := cfg.Resources; r.CpuShares != 512 || r.CpuQuotaUs != 50000 || r.MemoryLimitBytes != 1<<26 {
				t.Errorf("resources %v", r)
			}
			if cfg.OomScoreAdj != 1000 || cfg.Labels["io.kubernetes.container.name"] != "app" || cfg.CgroupPath != "/podd/crisb1/c1" {
				t.Errorf("oom %d labels %v cgroup %q", cfg.OomScoreAdj, cfg.Labels, cfg.CgroupPath)
			}
		}},
		{name: "host mounts with propagation and readonly", mut: func(in *CRIInput) {
			in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", ReadOnly: true},
				{HostPath: "/srv/b", ContainerPath: "/b", Propagation: "rslave"}, {HostPath: "/srv/c", ContainerPath: "/c", Propagation: "rshared"}}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			want := map[string]string{"/a": "/srv/a rbind,rprivate,ro", "/b": "/srv/b rbind,rslave", "/c": "/srv/c rbind,rshared"}
			for _, m := range cfg.Mounts {
				if w, ok := want[m.Destination]; ok {
					if got := m.Source + " " + strings.Join(m.Options, ","); got != w {
						t.Errorf("mount %s: %s, want %s", m.Destination, got, w)
					}
					delete(want, m.Destination)
				}
			}
			if len(want) > 0 {
				t.Errorf("missing mounts %v", want)
			}
		}},
		{name: "a recursive read-only mount gets rro", mut: func(in *CRIInput) {
			in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", ReadOnly: true, RecursiveReadOnly: true, Propagation: "private"}}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			for _, m := range cfg.Mounts {
				if m.Destination == "/a" && strings.Join(m.Options, ",") == "rbind,rprivate,ro,rro" {
					return
				}
			}
			t.Errorf("no rbind,rprivate,ro,rro mount at /a: %v", cfg.Mounts)
		}},
		{name: "recursive read-only needs read-only", mut: func(in *CRIInput) {
			in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", RecursiveReadOnly: true}}
		}, wantErr: `mount "/a": recursive read-only needs read-only and private propagation`},
		{name: "recursive read-only needs private propagation", mut: func(in *CRIInput) {
			in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", ReadOnly: true, RecursiveReadOnly: true, Propagation: "rslave"}}
		}, wantErr: `mount "/a": recursive read-only needs read-only and private propagation`},
		{name: "devices and masked/readonly paths as given", mut: func(in *CRIInput) {
			in.Devices = []*shimv1.Device{{HostPath: "/dev/null", ContainerPath: "/dev/x", Permissions: "r"}}
			in.MaskedPaths, in.ReadonlyPaths = []string{"/proc/kcore"}, []string{"/proc/sys"}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if len(cfg.Devices) != 1 || cfg.Devices[0].ContainerPath != "/dev/x" ||
				!reflect.DeepEqual(cfg.Paths.Masked, []string{"/proc/kcore"}) || !reflect.DeepEqual(cfg.Paths.Readonly, []string{"/proc/sys"}) {
				t.Errorf("devices %v paths %v", cfg.Devices, cfg.Paths)
			}
		}},
		{name: "a bad propagation names the mount", mut: func(in *CRIInput) {
			in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", Propagation: "weird"}}
		}, wantErr: `mount "/a": propagation "weird"`},
		{name: "run as username of the image", mut: func(in *CRIInput) { in.RunAsUsername = "app" },
			check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
				if cfg.User.Uid != 1000 || cfg.User.Gid != 1000 {
					t.Errorf("user %v", cfg.User)
				}
			}},
		{name: "run as user and group with supplemental groups", mut: func(in *CRIInput) {
			u, g := int64(33), int64(50)
			in.RunAsUser, in.RunAsGroup, in.SupplementalGroups = &u, &g, []int64{7}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if cfg.User.Uid != 33 || cfg.User.Gid != 50 || !reflect.DeepEqual(cfg.User.AdditionalGids, []uint32{50, 7}) {
				t.Errorf("user %v", cfg.User)
			}
		}},
		{name: "supplemental groups policy Merge (the default): the image's groups of the user are added", mut: func(in *CRIInput) {
			u := int64(1000)
			in.RunAsUser, in.SupplementalGroups = &u, []int64{7}
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if cfg.User.Uid != 1000 || cfg.User.Gid != 1000 || !reflect.DeepEqual(cfg.User.AdditionalGids, []uint32{1000, 50, 29, 7}) {
				t.Errorf("user %v", cfg.User)
			}
		}},
		{name: "supplemental groups policy Strict: only the given groups", mut: func(in *CRIInput) {
			u := int64(1000)
			in.RunAsUser, in.SupplementalGroups, in.SupplementalGroupsPolicy = &u, []int64{7}, "Strict"
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if cfg.User.Uid != 1000 || cfg.User.Gid != 1000 || !reflect.DeepEqual(cfg.User.AdditionalGids, []uint32{1000, 7}) {
				t.Errorf("user %v", cfg.User)
			}
		}},
		{name: "an unknown supplemental groups policy", mut: func(in *CRIInput) { in.SupplementalGroupsPolicy = "Loose" },
			wantErr: `supplemental groups policy "Loose"`},
		{name: "capabilities, readonly rootfs, no_new_privs", mut: func(in *CRIInput) {
			in.CapAdd, in.CapDrop = []string{"NET_ADMIN"}, []string{"ALL"}
			in.ReadonlyRootfs, in.NoNewPrivs = true, true
		}, check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
			if !reflect.DeepEqual(cfg.Capabilities, []string{"CAP_NET_ADMIN"}) || !cfg.ReadonlyRootfs || !cfg.NoNewPrivileges {
				t.Errorf("caps %v ro %v nnp %v", cfg.Capabilities, cfg.ReadonlyRootfs, cfg.NoNewPrivileges)
			}
		}},
		{name: "privileged: every capability, no filter", mut: func(in *CRIInput) { in.Privileged, in.Seccomp = true, "RuntimeDefault" },
			check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
				if !cfg.Privileged || len(cfg.Capabilities) != len(allCapabilities) || cfg.Seccomp != nil {
					t.Errorf("privileged %v caps %d seccomp %d bytes", cfg.Privileged, len(cfg.Capabilities), len(cfg.Seccomp))
				}
			}},
		{name: "seccomp RuntimeDefault", mut: func(in *CRIInput) { in.Seccomp = "RuntimeDefault" },
			check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
				if !strings.Contains(string(cfg.Seccomp), "SCMP_ACT_ERRNO") {
					t.Errorf("no default filter: %.80s", cfg.Seccomp)
				}
			}},
		{name: "seccomp Localhost by absolute path", mut: func(in *CRIInput) { in.Seccomp, in.SeccompProfile = "Localhost", profile },
			check: func(t *testing.T, cfg *shimv1.ContainerConfig) {
				if !strings.Contains(string(cfg.Seccomp), "mkdir") {
					t.Errorf("profile not loaded: %.200s", cfg.Seccomp)
				}
			}},
		{name: "seccomp Localhost relative is refused", mut: func(in *CRIInput) { in.Seccomp, in.SeccompProfile = "Localhost", "p.json" },
			wantErr: "must be an absolute path"},
		{name: "seccomp Localhost missing file", mut: func(in *CRIInput) { in.Seccomp, in.SeccompProfile = "Localhost", "/nonexistent/p.json" },
			wantErr: "nonexistent/p.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := criInput(t)
			tc.mut(&in)
			cfg, err := BuildCRI(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
