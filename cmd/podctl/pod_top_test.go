package main

import (
	"context"
	"sort"
	"strings"
	"testing"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TopPods reports each pod of the fake at 1250m and 96 MiB plus 1 byte,
// its containers at 1250m and 32 MiB; it echoes the window asked for.
func (f *fakePodService) TopPods(_ context.Context, req *poddv1.TopPodsRequest) (*poddv1.TopPodsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &poddv1.TopPodsResponse{WindowMillis: req.GetWindowMillis()}
	for _, pod := range f.pods {
		if (req.GetNamespace() != "" && pod.Namespace != req.GetNamespace()) || (req.GetName() != "" && pod.Name != req.GetName()) {
			continue
		}
		u := &poddv1.PodUsage{Namespace: pod.Namespace, Name: pod.Name, CpuMillicores: 1250, MemoryWorkingSetBytes: 96<<20 + 1}
		for _, c := range pod.Spec.Containers {
			u.Containers = append(u.Containers, &poddv1.ContainerUsage{Name: c.Name, CpuMillicores: 1250, MemoryWorkingSetBytes: 32 << 20})
		}
		resp.Pods = append(resp.Pods, u)
	}
	if req.GetName() != "" && len(resp.Pods) == 0 {
		return nil, status.Errorf(codes.NotFound, "pods %q not found", req.GetName())
	}
	sort.Slice(resp.Pods, func(i, j int) bool {
		return resp.Pods[i].Namespace+"/"+resp.Pods[i].Name < resp.Pods[j].Namespace+"/"+resp.Pods[j].Name
	})
	return resp, nil
}

func TestTopPods(t *testing.T) {
	f, sock := startFake(t)
	r := podctl(t, sock, "", "top", "pods")
	if r.code != 0 || r.stdout != "" || r.stderr != "No resources found in default namespace.\n" {
		t.Fatalf("top of no pods = %+v", r)
	}
	f.addPod(runningPod("web", "default"))
	f.addPod(runningPod("db", "prod"))

	r = podctl(t, sock, "", "top", "pods")
	want := "" +
		"NAME   CPU(cores)   MEMORY(bytes)\n" +
		"web    1250m        96Mi\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("top pods = %+v\nwant:\n%s", r, want)
	}
	r = podctl(t, sock, "", "top", "pod", "web", "--containers")
	want = "" +
		"POD   NAME    CPU(cores)   MEMORY(bytes)\n" +
		"web   httpd   1250m        32Mi\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("top pod web --containers = %+v\nwant:\n%s", r, want)
	}
	r = podctl(t, sock, "", "top", "pods", "-A")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAMESPACE NAME CPU(cores) MEMORY(bytes)" ||
		strings.Join(strings.Fields(lines[1]), " ") != "default web 1250m 96Mi" || strings.Join(strings.Fields(lines[2]), " ") != "prod db 1250m 96Mi" {
		t.Fatalf("top pods -A = %+v", r)
	}
	r = podctl(t, sock, "", "top", "pod", "missing")
	if r.code != 1 || !strings.Contains(r.stderr, `pods "missing" not found`) {
		t.Fatalf("top of a missing pod = %+v", r)
	}
	r = podctl(t, sock, "", "top", "pod", "web", "-A")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot be retrieved by name across all namespaces") {
		t.Fatalf("top pod web -A = %+v", r)
	}
}
