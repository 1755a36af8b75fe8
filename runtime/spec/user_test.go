package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func TestBuild_R90_User(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	yes := true
	strict := corev1.SupplementalGroupsPolicyStrict
	cases := []struct {
		name      string
		image     string
		pod       *corev1.PodSecurityContext
		container *corev1.SecurityContext
		want      *shimv1.User
		wantErr   string
	}{
		{"no user: root", "", nil, nil, &shimv1.User{}, ""},
		{"numeric uid takes gid from passwd", "1000", nil, nil, &shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{50, 29}}, ""},
		{"numeric uid unknown to passwd", "4242", nil, nil, &shimv1.User{Uid: 4242}, ""},
		{"uid:gid", "1000:7", nil, nil, &shimv1.User{Uid: 1000, Gid: 7, AdditionalGids: []uint32{50, 29}}, ""},
		{"name", "www", nil, nil, &shimv1.User{Uid: 33, Gid: 33, AdditionalGids: []uint32{50}}, ""},
		{"name:group", "www:staff", nil, nil, &shimv1.User{Uid: 33, Gid: 50}, ""},
		{"unknown name", "ghost", nil, nil, nil, `user "ghost" of the image is not in its /etc/passwd`},
		{"unknown group", "www:ghosts", nil, nil, nil, `group "ghosts" of the image is not in its /etc/group`},
		{"pod runAsUser beats image", "www", &corev1.PodSecurityContext{RunAsUser: i64(1000)}, nil,
			&shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{50, 29}}, ""},
		{"container beats pod", "", &corev1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(5)},
			&corev1.SecurityContext{RunAsUser: i64(2000), RunAsGroup: i64(6)}, &shimv1.User{Uid: 2000, Gid: 6}, ""},
		{"runAsGroup alone keeps image uid", "www", &corev1.PodSecurityContext{RunAsGroup: i64(9)}, nil,
			&shimv1.User{Uid: 33, Gid: 9, AdditionalGids: []uint32{50}}, ""},
		{"supplementalGroups and fsGroup", "", &corev1.PodSecurityContext{SupplementalGroups: []int64{10, 11, 0}, FSGroup: i64(2000)}, nil,
			&shimv1.User{AdditionalGids: []uint32{10, 11, 2000}}, ""},
		{"strict policy skips /etc/group", "1000", &corev1.PodSecurityContext{SupplementalGroupsPolicy: &strict, SupplementalGroups: []int64{10}}, nil,
			&shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{10}}, ""},
		{"runAsNonRoot refuses root", "", &corev1.PodSecurityContext{RunAsNonRoot: &yes}, nil, nil, "runAsNonRoot"},
		{"runAsNonRoot refuses root by name", "root", nil, &corev1.SecurityContext{RunAsNonRoot: &yes}, nil, "runAsNonRoot"},
		{"runAsNonRoot accepts a user", "www", &corev1.PodSecurityContext{RunAsNonRoot: &yes}, nil,
			&shimv1.User{Uid: 33, Gid: 33, AdditionalGids: []uint32{50}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t)
			in.Image.User = tc.image
			in.Pod.Spec.SecurityContext = tc.pod
			in.Container.SecurityContext = tc.container
			cfg, err := Build(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.User, tc.want) {
				t.Errorf("user %v, want %v", cfg.User, tc.want)
			}
		})
	}
}

func TestBuild_PasswdSymlinkStaysInsideRootfs(t *testing.T) {
	in := testInput(t)
	passwd := filepath.Join(in.Rootfs, "etc/passwd")
	if err := os.Rename(passwd, filepath.Join(in.Rootfs, "etc/passwd.real")); err != nil {
		t.Fatal(err)
	}
	// An absolute link must resolve inside the image, never to the host's file.
	if err := os.Symlink("/etc/passwd.real", passwd); err != nil {
		t.Fatal(err)
	}
	in.Image.User = "app"
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User.Uid != 1000 {
		t.Errorf("uid %d, want 1000 from the image's passwd", cfg.User.Uid)
	}
}

func TestBuild_NoPasswdFile(t *testing.T) {
	in := testInput(t)
	if err := os.RemoveAll(filepath.Join(in.Rootfs, "etc")); err != nil {
		t.Fatal(err)
	}
	in.Image.User = "123:456"
	cfg, err := Build(in)
	if err != nil || cfg.User.Uid != 123 || cfg.User.Gid != 456 {
		t.Errorf("got %v, %v", cfg.GetUser(), err)
	}
	in.Image.User = "app"
	if _, err := Build(in); err == nil {
		t.Errorf("a user name without /etc/passwd was accepted")
	}
}

// A passwd that links out of the rootfs, to the host's /etc/passwd or to any
// other host file, is read inside the image: the host's users are never seen.
func TestBuild_PasswdSymlinkToHostIsNotFollowed(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, outside, "intruder:x:4321:4321::/:/bin/sh\n")
	for _, target := range []string{"/etc/passwd", outside, "../../../../../../../../../" + outside} {
		t.Run(target, func(t *testing.T) {
			in := testInput(t)
			passwd := filepath.Join(in.Rootfs, "etc/passwd")
			if err := os.Remove(passwd); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, passwd); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"intruder", "root", "daemon", "nobody"} {
				in.Image.User = name
				cfg, err := Build(in)
				if err == nil {
					t.Errorf("user %q resolved to %v through a link out of the rootfs", name, cfg.User)
				}
			}
		})
	}
}

// Supplementary groups come from every /etc/group line naming the user,
// also with an explicit group; malformed lines and ids are skipped.
func TestBuild_SupplementaryGroupsFromImage(t *testing.T) {
	in := testInput(t)
	writeFile(t, filepath.Join(in.Rootfs, "etc/group"),
		"app:x:1000:\nstaff:x:50:www,app\n# comment\nbad\nneg:x:-3:app\nhuge:x:4294967296:app\nvideo:x:44:app\n")
	in.Image.User = "app:staff"
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &shimv1.User{Uid: 1000, Gid: 50, AdditionalGids: []uint32{44}}
	if !reflect.DeepEqual(cfg.User, want) {
		t.Errorf("user %v, want %v", cfg.User, want)
	}
}
