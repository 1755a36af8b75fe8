package verb

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// fakeObjects serves the object RPCs: ConfigMaps by name, one a page.
type fakeObjects struct {
	poddv1.PodServiceClient
	deleted []string
}

var fakeConfigMaps = map[string]string{
	"a": `{"metadata":{"name":"a","namespace":"default"},"data":{"k":"v"}}`,
	"b": `{"metadata":{"name":"b","namespace":"default"}}`,
}

func (f *fakeObjects) GetObject(_ context.Context, r *poddv1.GetObjectRequest, _ ...grpc.CallOption) (*poddv1.Object, error) {
	j, ok := fakeConfigMaps[r.GetName()]
	if !ok || r.GetResource() != "configmaps" {
		return nil, status.Errorf(codes.NotFound, "%s %q not found", r.GetResource(), r.GetName())
	}
	return &poddv1.Object{Kind: "ConfigMap", Json: []byte(j)}, nil
}

func (f *fakeObjects) ListObjects(_ context.Context, r *poddv1.ListObjectsRequest, _ ...grpc.CallOption) (*poddv1.ListObjectsResponse, error) {
	if r.GetContinue() == "" {
		return &poddv1.ListObjectsResponse{Objects: []*poddv1.Object{{Kind: "ConfigMap", Json: []byte(fakeConfigMaps["a"])}}, Continue: "default/a"}, nil
	}
	return &poddv1.ListObjectsResponse{Objects: []*poddv1.Object{{Kind: "ConfigMap", Json: []byte(fakeConfigMaps["b"])}}}, nil
}

func (f *fakeObjects) DeleteObject(_ context.Context, r *poddv1.DeleteObjectRequest, _ ...grpc.CallOption) (*poddv1.DeleteObjectResponse, error) {
	if _, ok := fakeConfigMaps[r.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "%s %q not found", r.GetResource(), r.GetName())
	}
	f.deleted = append(f.deleted, r.GetName())
	return &poddv1.DeleteObjectResponse{}, nil
}

func objectStreams() (Streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return Streams{Out: &out, ErrOut: &errOut}, &out, &errOut
}

func TestGetObjectsFollowsPagesAndReportsMissingNames(t *testing.T) {
	s, out, _ := objectStreams()
	if err := GetObjects(context.Background(), &fakeObjects{}, ObjectOptions{Streams: s, Kind: kindConfigMap, Output: "name"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "configmap/a\nconfigmap/b\n" {
		t.Errorf("list: %q", out.String())
	}
	s, out, errOut := objectStreams()
	err := GetObjects(context.Background(), &fakeObjects{}, ObjectOptions{Streams: s, Kind: kindConfigMap, Names: []string{"a", "x", "b"}, Output: "name"})
	if !errors.Is(err, errReported) || out.String() != "configmap/a\nconfigmap/b\n" || !strings.Contains(errOut.String(), `configmaps "x" not found`) {
		t.Errorf("names: %v, out %q, err %q", err, out.String(), errOut.String())
	}
	if err := GetObjects(context.Background(), &fakeObjects{}, ObjectOptions{Streams: s, Kind: kindConfigMap, Output: "wide"}); err == nil {
		t.Error("-o wide accepted for configmaps")
	}
}

func TestDeleteObjectsPrintsEachAndGoesOn(t *testing.T) {
	s, out, errOut := objectStreams()
	f := &fakeObjects{}
	err := DeleteObjects(context.Background(), f, ObjectOptions{Streams: s, Kind: kindConfigMap, Names: []string{"a", "x", "b"}})
	if !errors.Is(err, errReported) || out.String() != "configmap \"a\" deleted\nconfigmap \"b\" deleted\n" || strings.Count(errOut.String(), "not found") != 1 {
		t.Errorf("delete: %v, out %q, err %q", err, out.String(), errOut.String())
	}
	s, _, _ = objectStreams()
	if err := DeleteObjects(context.Background(), f, ObjectOptions{Streams: s, Kind: kindConfigMap, Names: []string{"x"}, IgnoreNotFound: true}); err != nil {
		t.Errorf("--ignore-not-found: %v", err)
	}
}
