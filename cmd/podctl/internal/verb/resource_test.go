package verb

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseResourceArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantErr string
	}{
		{args: []string{"pods"}, want: []string{}},
		{args: []string{"pod", "a", "b"}, want: []string{"a", "b"}},
		{args: []string{"po", "a"}, want: []string{"a"}},
		{args: []string{"pod/a", "pods/b"}, want: []string{"a", "b"}},
		{args: []string{"statefulsets"}, wantErr: `resource type "statefulsets"`},
		{args: []string{"svc/a"}, wantErr: `resource type "svc"`},
		{args: []string{"pod/"}, wantErr: "single resource and name"},
		{args: nil, wantErr: "must specify the type"},
	}
	for _, tt := range tests {
		got, err := ParseResourceArgs(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseResourceArgs(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseResourceArgs(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
}

func TestContainerFor(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}},
			Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
		},
	}
	if c, notice, err := ContainerFor(pod, ""); err != nil || c != "a" ||
		notice != `Defaulted container "a" out of: a, b, init (init)` {
		t.Errorf("default = %q %q %v", c, notice, err)
	}
	if c, notice, err := ContainerFor(pod, "init"); err != nil || c != "init" || notice != "" {
		t.Errorf("named init = %q %q %v", c, notice, err)
	}
	if _, _, err := ContainerFor(pod, "zzz"); err == nil ||
		err.Error() != "container zzz is not valid for pod p out of: a, b, init (init)" {
		t.Errorf("missing container error = %v", err)
	}
	pod.Annotations = map[string]string{DefaultContainerAnnotation: "b"}
	if c, notice, _ := ContainerFor(pod, ""); c != "b" || notice != "" {
		t.Errorf("annotated default = %q %q", c, notice)
	}
}

func TestObjectRefs(t *testing.T) {
	manifest := `# leading comment
apiVersion: v1
kind: Pod
metadata:
  name: one
  namespace: ns1
spec: {containers: [{name: a, image: busybox}]}
---
---
apiVersion: v1
kind: Pod
metadata: {name: two}
--- # trailing comment
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "three"}}
`
	refs, err := objectRefs([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	want := []objectRef{{"Pod", "ns1", "one"}, {"Pod", "", "two"}, {"Pod", "", "three"}}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("objectRefs = %+v, want %+v", refs, want)
	}
}

func TestReadManifests_DirInNameOrder(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"b.yaml": "b", "a.yml": "a", "c.json": "c", "notes.txt": "x", "d.YAML": "d",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := readManifests([]string{dir, "-"}, strings.NewReader("stdin"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Source)+"="+string(f.Data))
	}
	want := []string{"a.yml=a", "b.yaml=b", "c.json=c", "d.YAML=d", "-=stdin"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readManifests = %q, want %q", got, want)
	}
	if _, err := readManifests([]string{filepath.Join(dir, "missing.yaml")}, nil); err == nil {
		t.Error("missing file gave no error")
	}
}

func TestParseObjectArgs(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		resource string
		names    string
		ok       bool
		err      bool
	}{
		{[]string{"cm"}, "configmaps", "", true, false},
		{[]string{"Secrets", "a", "b"}, "secrets", "a,b", true, false},
		{[]string{"pvc/data", "persistentvolumeclaim/x"}, "persistentvolumeclaims", "data,x", true, false},
		{[]string{"ns/shop"}, "namespaces", "shop", true, false},
		{[]string{"pods", "web"}, "", "", false, false},
		{[]string{"pod/web"}, "", "", false, false},
		{[]string{"cm/a", "secret/b"}, "", "", false, true},
		{[]string{"cm/"}, "", "", false, true},
	} {
		kind, names, ok, err := ParseObjectArgs(tc.args)
		if (err != nil) != tc.err || ok != tc.ok || kind.Resource != tc.resource || strings.Join(names, ",") != tc.names {
			t.Errorf("ParseObjectArgs(%v) = %v %v %v %v", tc.args, kind, names, ok, err)
		}
	}
}
