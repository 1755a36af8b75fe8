package printers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestTable_AlignsLikeKubectl(t *testing.T) {
	var b strings.Builder
	tab := NewTable(&b)
	if err := tab.Write([]string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
		[]string{"web", "1/1", "Running", "0", "5s"}); err != nil {
		t.Fatal(err)
	}
	// A later, wider row widens its column but keeps earlier widths.
	if err := tab.Write([]string{"a-much-longer-name", "0/1", "Init:0/2", "0", "1s"}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME   READY   STATUS    RESTARTS   AGE\n" +
		"web    1/1     Running   0          5s\n" +
		"a-much-longer-name   0/1     Init:0/2   0          1s\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPodRow_WideAndNamespace(t *testing.T) {
	p := testPod(corev1.PodRunning, noInit, conds(condition(corev1.PodReady, true)),
		apps(cstatus("a", running(), true), cstatus("b", running(), true)))
	p.Spec.NodeName = "node1"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.88.0.5"}}
	p.Annotations = map[string]string{StaticSourceAnnotation: "/etc/podd/manifests/p.yaml"}
	cols := PodColumns{Wide: true, Namespace: true}
	var b strings.Builder
	if err := NewTable(&b).Write(PodHeader(cols), PodRow(p, testNow, cols)); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE   IP          NODE    NOMINATED NODE   READINESS GATES   SOURCE\n" +
		"default     p      2/2     Running   0          5m    10.88.0.5   node1   <none>           <none>            static:/etc/podd/manifests/p.yaml\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	p.Status.PodIPs, p.Spec.NodeName = nil, ""
	row := PodRow(p, testNow, PodColumns{Wide: true})
	if row[5] != "<none>" || row[6] != "<none>" {
		t.Errorf("wide row without IP/node = %q, want <none> cells", row)
	}
}

func TestWritePods_YAMLAndList(t *testing.T) {
	p := testPod(corev1.PodRunning, noInit)
	var b strings.Builder
	if err := WritePods(&b, []corev1.Pod{*p}, FormatYAML, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "apiVersion: v1\nkind: Pod\n") {
		t.Errorf("single pod YAML starts %q", b.String()[:40])
	}
	b.Reset()
	if err := WritePods(&b, []corev1.Pod{*p, *p}, FormatJSON, true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"kind": "List"`, `"items": [`, `"kind": "Pod"`, `"resourceVersion": ""`} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("JSON list lacks %s:\n%s", s, b.String())
		}
	}
	b.Reset()
	if err := WritePods(&b, []corev1.Pod{*p}, FormatName, true); err != nil {
		t.Fatal(err)
	}
	if b.String() != "pod/p\n" {
		t.Errorf("-o name = %q", b.String())
	}
}

func TestImages(t *testing.T) {
	if got := HumanSize(4261550); got != "4.26MB" {
		t.Errorf("HumanSize = %q", got)
	}
	if got := HumanSize(999); got != "999B" {
		t.Errorf("HumanSize = %q", got)
	}
	if got := HumanDuration(15 * 24 * time.Hour); got != "2 weeks" {
		t.Errorf("HumanDuration = %q", got)
	}
	for ref, want := range map[string][2]string{
		"docker.io/library/busybox:latest": {"docker.io/library/busybox", "latest"},
		"localhost:5000/app":               {"localhost:5000/app", "<none>"},
		"busybox@sha256:abcd":              {"busybox", "<none>"},
		"":                                 {"<none>", "<none>"},
	} {
		repo, tag := SplitImageRef(ref)
		if repo != want[0] || tag != want[1] {
			t.Errorf("SplitImageRef(%q) = %q %q, want %q", ref, repo, tag, want)
		}
	}
}
