package spec

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/image"
)

func TestExpand_R90(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two", "EMPTY": ""}
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "1"},
		{"x$(A)y$(B)z", "x1ytwoz"},
		{"$(EMPTY)!", "!"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$1"},
		{"$$", "$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"$(A", "$(A"},
		{"$()", "$()"},
		{"$(A)$(A)", "11"},
	}
	for _, tc := range cases {
		if got := Expand(tc.in, vars); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCommandLine_R90_MergeWithImage(t *testing.T) {
	img := image.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"cmd-arg"}}
	vars := map[string]string{"GREETING": "hi"}
	cases := []struct {
		name          string
		command, args []string
		img           image.Config
		want          []string
	}{
		{"image defaults", nil, nil, img, []string{"/entry", "cmd-arg"}},
		{"command replaces entrypoint and drops cmd", []string{"/bin/sh"}, nil, img, []string{"/bin/sh"}},
		{"command and args", []string{"/bin/sh"}, []string{"-c", "echo $(GREETING)"}, img, []string{"/bin/sh", "-c", "echo hi"}},
		{"args alone replace cmd", nil, []string{"x", "$(GREETING)"}, img, []string{"/entry", "x", "hi"}},
		{"args with no entrypoint", nil, []string{"/bin/true"}, image.Config{Cmd: []string{"sh"}}, []string{"/bin/true"}},
		{"image cmd is not expanded", nil, nil, image.Config{Cmd: []string{"$(GREETING)"}}, []string{"$(GREETING)"}},
	}
	for _, tc := range cases {
		c := &corev1.Container{Name: "c", Command: tc.command, Args: tc.args}
		got, err := commandLine(c, tc.img, vars)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := commandLine(&corev1.Container{Name: "c"}, image.Config{}, nil); err == nil {
		t.Errorf("no command at all: want an error")
	}
}

func TestBuild_R90_Env(t *testing.T) {
	in := testInput(t)
	in.Image.Env = []string{"PATH=/bin", "MODE=image", "KEEP=1"}
	in.Container.Env = []corev1.EnvVar{
		{Name: "MODE", Value: "pod"},
		{Name: "GREETING", Value: "hello $(MODE) $(KEEP) $$(MODE)"}, // KEEP is image env: not expanded
		{Name: "LATER", Value: "$(AFTER)"},                          // defined later: stays literal
		{Name: "AFTER", Value: "x"},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
	}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOSTNAME=web", "PATH=/bin", "MODE=pod", "KEEP=1", "GREETING=hello pod $(KEEP) $(MODE)",
		"LATER=$(AFTER)", "AFTER=x", "POD=web", "IP=10.88.0.7", "APP=shop", "CPU=1"}
	if !reflect.DeepEqual(cfg.Env, want) {
		t.Errorf("env\n got %q\nwant %q", cfg.Env, want)
	}
}

func TestBuild_DefaultPathAndNoHostnameOnHostNetwork(t *testing.T) {
	in := testInput(t)
	in.Sandbox = Sandbox{HostNetwork: true}
	cfg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{DefaultPath}; !reflect.DeepEqual(cfg.Env, want) {
		t.Errorf("env %q, want %q", cfg.Env, want)
	}
}
