package verb

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// fakePods serves GetPod and ListPods (one pod a page) from a map of
// namespace/name to the JSON the daemon would send.
type fakePods struct {
	poddv1.PodServiceClient
	pods map[string][]byte
}

func (f *fakePods) GetPod(_ context.Context, r *poddv1.GetPodRequest, _ ...grpc.CallOption) (*poddv1.Pod, error) {
	j, ok := f.pods[r.GetNamespace()+"/"+r.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "pods %q not found", r.GetName())
	}
	return &poddv1.Pod{Json: j}, nil
}

func (f *fakePods) ListPods(_ context.Context, r *poddv1.ListPodsRequest, _ ...grpc.CallOption) (*poddv1.ListPodsResponse, error) {
	var keys []string
	for k := range f.pods {
		if r.GetNamespace() == "" || strings.HasPrefix(k, r.GetNamespace()+"/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	i := 0
	for i < len(keys) && r.GetContinue() != "" && keys[i] <= r.GetContinue() {
		i++
	}
	if i == len(keys) {
		return &poddv1.ListPodsResponse{}, nil
	}
	resp := &poddv1.ListPodsResponse{Pods: []*poddv1.Pod{{Json: f.pods[keys[i]]}}}
	if i+1 < len(keys) {
		resp.Continue = keys[i]
	}
	return resp, nil
}

func podJSON(t *testing.T, ns, name string, containers ...string) []byte {
	t.Helper()
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c})
	}
	b, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newFakePods(t *testing.T) *fakePods {
	return &fakePods{pods: map[string][]byte{
		"default/web":   podJSON(t, "default", "web", "app", "sidecar"),
		"default/db":    podJSON(t, "default", "db", "db"),
		"other/cache":   podJSON(t, "other", "cache", "redis"),
		"default/wreck": []byte("{not json"),
	}}
}

// Several names: each one that cannot be had is reported and the others
// are returned; one name: its error is returned.
func TestGetPods_NamesReportAndGoOn(t *testing.T) {
	ctx := context.Background()
	c := newFakePods(t)
	var errOut bytes.Buffer
	got, failed, err := getPods(ctx, c, "default", []string{"web", "ghost", "wreck", "db"}, "default", &errOut)
	if err != nil || !failed {
		t.Fatalf("err = %v, failed = %v", err, failed)
	}
	if len(got) != 2 || got[0].pod.Name != "web" || got[1].pod.Name != "db" || got[0].msg == nil {
		t.Fatalf("got %+v", got)
	}
	if s := errOut.String(); !strings.Contains(s, `"ghost" not found`) || !strings.Contains(s, "decode pod") {
		t.Errorf("errOut = %q, want both failures reported", s)
	}
	for _, name := range []string{"ghost", "wreck"} {
		if _, _, err := getPods(ctx, c, "default", []string{name}, "default", &errOut); err == nil {
			t.Errorf("single name %q: no error", name)
		}
	}
}

// No names lists every page of the namespace asked for, decoded.
func TestGetPods_ListAllPages(t *testing.T) {
	c := newFakePods(t)
	delete(c.pods, "default/wreck")
	got, failed, err := getPods(context.Background(), c, "default", nil, "", &bytes.Buffer{})
	if err != nil || failed || len(got) != 3 {
		t.Fatalf("got %d pods, failed %v, err %v", len(got), failed, err)
	}
	got, _, _ = getPods(context.Background(), c, "default", nil, "other", &bytes.Buffer{})
	if len(got) != 1 || got[0].pod.Name != "cache" {
		t.Fatalf("namespace other: %+v", got)
	}
}

// exec and logs read the pod and its container in one call, with the
// kubectl notice when the container was chosen among several.
func TestGetPodContainer(t *testing.T) {
	ctx := context.Background()
	c := newFakePods(t)
	var errOut bytes.Buffer
	pod, container, err := getPodContainer(ctx, c, "default", "web", "", &errOut)
	if err != nil || pod.Name != "web" || container != "app" {
		t.Fatalf("got %v %q %v", pod, container, err)
	}
	if !strings.Contains(errOut.String(), `Defaulted container "app" out of: app, sidecar`) {
		t.Errorf("errOut = %q", errOut.String())
	}
	if _, _, err := getPodContainer(ctx, c, "default", "web", "nope", &errOut); err == nil {
		t.Error("an unknown container was accepted")
	}
	if _, _, err := getPodContainer(ctx, c, "default", "wreck", "", &errOut); err == nil {
		t.Error("an undecodable pod was accepted")
	}
}
