package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// fakePodService is a scriptable in-process PodService: it keeps pods in
// memory and records what podctl asked for.
type fakePodService struct {
	poddv1.UnimplementedPodServiceServer

	mu      sync.Mutex
	pods    map[string]*corev1.Pod // by namespace/name
	static  map[string]string      // static source by namespace/name
	events  []*poddv1.Event
	deletes []*poddv1.DeletePodRequest
	logs    []*poddv1.LogsRequest
	execs   []*poddv1.ExecStart
	stdin   strings.Builder
	closed  bool // close_stdin received
	images  []*poddv1.Image
	imports []*poddv1.ImportImageRequest
	// deleteHold, when set, holds each DeletePod until it is closed, as a
	// pod that takes its grace period to go would with --wait.
	deleteHold chan struct{}
	// deleting and mostDeleting count the DeletePod calls in flight.
	deleting, mostDeleting int
}

// startFake serves a fakePodService on a unix socket in a temp dir and
// returns it with the socket path.
func startFake(t *testing.T) (*fakePodService, string) {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // unix socket paths are limited to 108 bytes
		var err error
		if dir, err = os.MkdirTemp("", "podctl"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	sock := filepath.Join(dir, "podd.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePodService{pods: map[string]*corev1.Pod{}, static: map[string]string{}}
	srv := grpc.NewServer()
	poddv1.RegisterPodServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return f, sock
}

func key(ns, name string) string {
	if ns == "" {
		ns = "default"
	}
	return ns + "/" + name
}

// addPod stores pod as if it had been applied earlier.
func (f *fakePodService) addPod(pod *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	f.pods[key(pod.Namespace, pod.Name)] = pod
}

func toProto(pod *corev1.Pod, static string) *poddv1.Pod {
	data, err := json.Marshal(pod)
	if err != nil {
		panic(err)
	}
	return &poddv1.Pod{Json: data, StaticSource: static}
}

func (f *fakePodService) Apply(_ context.Context, req *poddv1.ApplyRequest) (*poddv1.ApplyResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &poddv1.ApplyResponse{}
	var pods []*corev1.Pod
	for _, doc := range strings.Split(string(req.GetManifest()), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		pod := &corev1.Pod{}
		if err := yaml.Unmarshal([]byte(doc), pod); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s: %v", req.GetSource(), err)
		}
		if pod.Kind != "Pod" {
			return nil, status.Errorf(codes.InvalidArgument, "%s: kind %q is not supported: podd runs Pods only", req.GetSource(), pod.Kind)
		}
		pods = append(pods, pod)
	}
	for _, pod := range pods {
		if pod.Namespace == "" {
			pod.Namespace = "default"
		}
		action := "created"
		if old, ok := f.pods[key(pod.Namespace, pod.Name)]; ok {
			action = "configured"
			if reflect.DeepEqual(old.Spec, pod.Spec) {
				action = "unchanged"
			}
		}
		if pod.Labels["warn"] != "" {
			resp.Warnings = append(resp.Warnings, pod.Labels["warn"])
		}
		f.pods[key(pod.Namespace, pod.Name)] = pod
		resp.Results = append(resp.Results, &poddv1.ApplyResult{Namespace: pod.Namespace, Name: pod.Name, Action: action})
	}
	return resp, nil
}

func (f *fakePodService) GetPod(_ context.Context, req *poddv1.GetPodRequest) (*poddv1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(req.GetNamespace(), req.GetName())
	pod, ok := f.pods[k]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "pods %q not found", req.GetName())
	}
	return toProto(pod, f.static[k]), nil
}

func (f *fakePodService) list(ns string) []*poddv1.Pod {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.pods))
	for k := range f.pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*poddv1.Pod
	for _, k := range keys {
		if ns == "" || f.pods[k].Namespace == ns {
			out = append(out, toProto(f.pods[k], f.static[k]))
		}
	}
	return out
}

// ListPods pages one pod at a time, so every caller must follow continue.
func (f *fakePodService) ListPods(_ context.Context, req *poddv1.ListPodsRequest) (*poddv1.ListPodsResponse, error) {
	pods := f.list(req.GetNamespace())
	next := 0
	if c := req.GetContinue(); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "bad continue %q", c)
		}
		next = n
	}
	if next >= len(pods) {
		return &poddv1.ListPodsResponse{}, nil
	}
	resp := &poddv1.ListPodsResponse{Pods: pods[next : next+1]}
	if next+1 < len(pods) {
		resp.Continue = strconv.Itoa(next + 1)
	}
	return resp, nil
}

// WatchPods replays the pods as ADDED, then reports each as MODIFIED with
// phase Succeeded, then DELETED, and ends the stream.
func (f *fakePodService) WatchPods(req *poddv1.ListPodsRequest, stream grpc.ServerStreamingServer[poddv1.PodEvent]) error {
	pods := f.list(req.GetNamespace())
	for _, p := range pods {
		if err := stream.Send(&poddv1.PodEvent{Type: "ADDED", Pod: p}); err != nil {
			return err
		}
	}
	for _, typ := range []string{"MODIFIED", "DELETED"} {
		for _, p := range pods {
			var pod corev1.Pod
			_ = json.Unmarshal(p.GetJson(), &pod)
			pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded}
			if err := stream.Send(&poddv1.PodEvent{Type: typ, Pod: toProto(&pod, "")}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakePodService) DeletePod(ctx context.Context, req *poddv1.DeletePodRequest) (*poddv1.DeletePodResponse, error) {
	f.mu.Lock()
	f.deleting++
	f.mostDeleting = max(f.mostDeleting, f.deleting)
	hold := f.deleteHold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleting--
	f.deletes = append(f.deletes, req)
	k := key(req.GetNamespace(), req.GetName())
	if _, ok := f.pods[k]; !ok {
		return nil, status.Errorf(codes.NotFound, "pods %q not found", req.GetName())
	}
	if f.static[k] != "" && !req.GetForce() {
		return nil, status.Errorf(codes.FailedPrecondition, "pod %q is a static pod from %s: delete it with --force", req.GetName(), f.static[k])
	}
	delete(f.pods, k)
	return &poddv1.DeletePodResponse{}, nil
}

func (f *fakePodService) Logs(req *poddv1.LogsRequest, stream grpc.ServerStreamingServer[poddv1.LogChunk]) error {
	f.mu.Lock()
	f.logs = append(f.logs, req)
	f.mu.Unlock()
	for _, line := range []string{"line 1\n", "line 2\n"} {
		if err := stream.Send(&poddv1.LogChunk{Data: []byte(req.GetContainer() + ": " + line)}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakePodService) ListEvents(_ context.Context, req *poddv1.ListEventsRequest) (*poddv1.ListEventsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*poddv1.Event
	for _, e := range f.events {
		if (req.GetNamespace() == "" || e.GetNamespace() == req.GetNamespace()) && (req.GetName() == "" || e.GetPod() == req.GetName()) {
			out = append(out, e)
		}
	}
	return &poddv1.ListEventsResponse{Events: out}, nil
}

// Exec runs a tiny script: "exit N" exits N; "cat" echoes stdin until
// close_stdin; "fail" writes to stderr and exits 1; "echo ARGS" prints.
func (f *fakePodService) Exec(stream grpc.BidiStreamingServer[poddv1.ExecRequest, poddv1.ExecResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "first message must be start")
	}
	f.mu.Lock()
	f.execs = append(f.execs, start)
	f.mu.Unlock()
	out := func(s string) error {
		return stream.Send(&poddv1.ExecResponse{Msg: &poddv1.ExecResponse_Stdout{Stdout: []byte(s)}})
	}
	exit := func(code int32) error {
		return stream.Send(&poddv1.ExecResponse{Msg: &poddv1.ExecResponse_ExitCode{ExitCode: code}})
	}
	cmd := start.GetCommand()
	switch cmd[0] {
	case "exit":
		n, _ := strconv.Atoi(cmd[1])
		return exit(int32(n))
	case "echo":
		if err := out(strings.Join(cmd[1:], " ") + "\n"); err != nil {
			return err
		}
		return exit(0)
	case "fail":
		if err := stream.Send(&poddv1.ExecResponse{Msg: &poddv1.ExecResponse_Stderr{Stderr: []byte("boom\n")}}); err != nil {
			return err
		}
		return exit(1)
	case "cat":
		for {
			req, err := stream.Recv()
			if err == io.EOF {
				return exit(0)
			}
			if err != nil {
				return err
			}
			switch m := req.GetMsg().(type) {
			case *poddv1.ExecRequest_Stdin:
				f.mu.Lock()
				f.stdin.Write(m.Stdin)
				f.mu.Unlock()
				if err := out(string(m.Stdin)); err != nil {
					return err
				}
			case *poddv1.ExecRequest_CloseStdin:
				f.mu.Lock()
				f.closed = true
				f.mu.Unlock()
				return exit(0)
			}
		}
	}
	return status.Errorf(codes.InvalidArgument, "unknown command %q", cmd[0])
}

func (f *fakePodService) ImportImage(_ context.Context, req *poddv1.ImportImageRequest) (*poddv1.ImportImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imports = append(f.imports, req)
	img := &poddv1.Image{Refs: []string{req.GetName()}, Id: "sha256:0123456789abcdef0123"}
	f.images = append(f.images, img)
	return &poddv1.ImportImageResponse{Images: []*poddv1.Image{img}}, nil
}

func (f *fakePodService) ListImages(context.Context, *poddv1.ListImagesRequest) (*poddv1.ListImagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &poddv1.ListImagesResponse{Images: f.images}, nil
}

func (f *fakePodService) PullImage(_ context.Context, req *poddv1.PullImageRequest) (*poddv1.PullImageResponse, error) {
	if !req.GetInsecure() && strings.HasPrefix(req.GetRef(), "localhost") {
		return nil, status.Error(codes.Unavailable, fmt.Sprintf("pull %s: http: server gave HTTP response to HTTPS client", req.GetRef()))
	}
	return &poddv1.PullImageResponse{Image: &poddv1.Image{Refs: []string{req.GetRef()}, Id: "sha256:feed"}}, nil
}

// PullImageWithProgress streams one layer downloading then complete; a
// ref under old/ gets Unimplemented, as from a daemon without streaming.
func (f *fakePodService) PullImageWithProgress(req *poddv1.PullImageRequest, stream poddv1.PodService_PullImageWithProgressServer) error {
	if strings.HasPrefix(req.GetRef(), "old/") {
		return status.Error(codes.Unimplemented, "unknown method PullImageWithProgress")
	}
	resp, err := f.PullImage(stream.Context(), req)
	if err != nil {
		return err
	}
	layer := func(done int64, state string) []*poddv1.LayerProgress {
		return []*poddv1.LayerProgress{{Digest: "sha256:0123456789abcdef", Size: 2000, Done: done, State: state}}
	}
	for _, m := range []*poddv1.PullImageProgress{
		{Layers: layer(0, "Waiting")},
		{Layers: layer(1000, "Downloading")},
		{Layers: layer(1500, "Downloading")},
		{Layers: layer(2000, "Pull complete"), Image: resp.GetImage()},
	} {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// RemoveImage removes the fake image whose first ref is req.Ref; "in-use"
// is refused as the daemon refuses an image a pod uses.
func (f *fakePodService) RemoveImage(_ context.Context, req *poddv1.RemoveImageRequest) (*poddv1.RemoveImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.GetRef() == "in-use" {
		return nil, status.Error(codes.FailedPrecondition, `image "in-use" is in use by pod default/web: delete the pod first`)
	}
	for i, img := range f.images {
		if img.GetRefs()[0] == req.GetRef() {
			f.images = append(f.images[:i], f.images[i+1:]...)
			return &poddv1.RemoveImageResponse{Untagged: img.GetRefs(), Deleted: "sha256:dead", LayersRemoved: 1}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "remove image %q: image not found", req.GetRef())
}

func (f *fakePodService) PruneImages(context.Context, *poddv1.PruneImagesRequest) (*poddv1.PruneImagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &poddv1.PruneImagesResponse{LayersRemoved: int32(len(f.images))}
	for _, img := range f.images {
		resp.Deleted = append(resp.Deleted, &poddv1.Image{Refs: img.GetRefs(), Digest: "sha256:dead"})
	}
	f.images = nil
	return resp, nil
}

func (f *fakePodService) Version(context.Context, *poddv1.VersionRequest) (*poddv1.VersionResponse, error) {
	return &poddv1.VersionResponse{Version: "v9.9.9", ApiVersion: "podd.v1", GoVersion: "go1.99"}, nil
}
