package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/image"
)

// The image RPCs check their arguments, map the store's errors to codes
// (a missing image is NotFound, an image a pod uses FailedPrecondition)
// and the store's images to messages.
func TestImageRPCs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(d *testDaemon)
		call  func(a *api) (any, error)
		code  codes.Code
		check func(t *testing.T, d *testDaemon, resp any)
	}{
		{"import from a relative path", nil, func(a *api) (any, error) {
			return a.ImportImage(ctx, &poddv1.ImportImageRequest{Path: "img.tar"})
		}, codes.InvalidArgument, nil},
		{"import a bad archive", func(d *testDaemon) { d.images.fail("import", errors.New("not a tar")) }, func(a *api) (any, error) {
			return a.ImportImage(ctx, &poddv1.ImportImageRequest{Path: "/img.tar", Name: "x:1"})
		}, codes.InvalidArgument, nil},
		{"import", nil, func(a *api) (any, error) {
			return a.ImportImage(ctx, &poddv1.ImportImageRequest{Path: "/img.tar", Name: "x:1"})
		}, codes.OK, func(t *testing.T, _ *testDaemon, resp any) {
			imgs := resp.(*poddv1.ImportImageResponse).Images
			if len(imgs) != 1 || imgs[0].Digest != "sha256:x:1" || imgs[0].Id != "id-sha256:x:1" || imgs[0].Size != 42 || imgs[0].CreatedUnix != 1700000000 {
				t.Errorf("imported %v", imgs)
			}
		}},
		{"pull without a ref", nil, func(a *api) (any, error) { return a.PullImage(ctx, &poddv1.PullImageRequest{}) }, codes.InvalidArgument, nil},
		{"pull a missing image", func(d *testDaemon) {
			d.images.fail("pull", fmt.Errorf("pull nope: %w", image.ErrNotFound))
		}, func(a *api) (any, error) { return a.PullImage(ctx, &poddv1.PullImageRequest{Ref: "nope"}) }, codes.NotFound, nil},
		{"pull fails", func(d *testDaemon) { d.images.fail("pull", errors.New("registry down")) }, func(a *api) (any, error) {
			return a.PullImage(ctx, &poddv1.PullImageRequest{Ref: "x"})
		}, codes.Internal, nil},
		{"pull cancelled", func(d *testDaemon) { d.images.fail("pull", fmt.Errorf("pull: %w", context.Canceled)) }, func(a *api) (any, error) {
			return a.PullImage(ctx, &poddv1.PullImageRequest{Ref: "x"})
		}, codes.Canceled, nil},
		{"list fails", func(d *testDaemon) { d.images.fail("list", errors.New("disk")) }, func(a *api) (any, error) {
			return a.ListImages(ctx, &poddv1.ListImagesRequest{})
		}, codes.Internal, nil},
		{"list", func(d *testDaemon) { d.images.add("alpine:3", "sha256:alpine") }, func(a *api) (any, error) {
			return a.ListImages(ctx, &poddv1.ListImagesRequest{})
		}, codes.OK, func(t *testing.T, _ *testDaemon, resp any) {
			var refs []string
			for _, img := range resp.(*poddv1.ListImagesResponse).Images {
				refs = append(refs, img.Refs...)
			}
			if slices.Sort(refs); strings.Join(refs, " ") != "alpine:3 busybox:latest" {
				t.Errorf("listed %v", refs)
			}
		}},
		{"remove without a ref", nil, func(a *api) (any, error) { return a.RemoveImage(ctx, &poddv1.RemoveImageRequest{}) }, codes.InvalidArgument, nil},
		{"remove a missing image", nil, func(a *api) (any, error) {
			return a.RemoveImage(ctx, &poddv1.RemoveImageRequest{Ref: "nope"})
		}, codes.NotFound, nil},
		{"remove an image a pod uses", func(d *testDaemon) { d.addIdlePod("default", "web", nil) }, func(a *api) (any, error) {
			return a.RemoveImage(ctx, &poddv1.RemoveImageRequest{Ref: "busybox:latest"})
		}, codes.FailedPrecondition, func(t *testing.T, d *testDaemon, _ any) {
			if _, err := d.images.Get(ctx, "busybox:latest"); err != nil {
				t.Errorf("the refused remove removed: %v", err)
			}
		}},
		{"remove", nil, func(a *api) (any, error) {
			return a.RemoveImage(ctx, &poddv1.RemoveImageRequest{Ref: "busybox:latest"})
		}, codes.OK, func(t *testing.T, _ *testDaemon, resp any) {
			r := resp.(*poddv1.RemoveImageResponse)
			if strings.Join(r.Untagged, ",") != "busybox:latest" || r.Deleted != "sha256:busybox:latest" || r.LayersRemoved != 2 {
				t.Errorf("removed %v", r)
			}
		}},
		{"prune keeps what pods use", func(d *testDaemon) {
			d.images.add("alpine:3", "sha256:alpine")
			d.addIdlePod("default", "web", nil)
		}, func(a *api) (any, error) { return a.PruneImages(ctx, &poddv1.PruneImagesRequest{}) }, codes.OK, func(t *testing.T, d *testDaemon, resp any) {
			r := resp.(*poddv1.PruneImagesResponse)
			if len(r.Deleted) != 1 || r.Deleted[0].Digest != "sha256:alpine" || r.LayersRemoved != 2 {
				t.Errorf("pruned %v", r)
			}
			if _, err := d.images.Get(ctx, "busybox:latest"); err != nil {
				t.Errorf("prune removed an image in use: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startTestDaemon(t)
			if tc.setup != nil {
				tc.setup(d)
			}
			resp, err := tc.call(&api{d: d.Daemon})
			if c := status.Code(err); c != tc.code {
				t.Fatalf("code %v (%v), want %v", c, err, tc.code)
			}
			if tc.check != nil {
				tc.check(t, d, resp)
			}
		})
	}
}

// pullStream is the server side of a PullImageWithProgress stream.
type pullStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*poddv1.PullImageProgress
}

func (s *pullStream) Context() context.Context { return s.ctx }
func (s *pullStream) Send(p *poddv1.PullImageProgress) error {
	s.sent = append(s.sent, p)
	return nil
}

// PullImageWithProgress streams the layers as they stand, in the order the
// pull announced them, and ends with the image; a failed pull ends with
// its code after whatever progress there was.
func TestPullImageWithProgress(t *testing.T) {
	d := startTestDaemon(t)
	a := &api{d: d.Daemon}
	s := &pullStream{ctx: context.Background()}
	if err := a.PullImageWithProgress(&poddv1.PullImageRequest{Ref: "alpine:3"}, s); err != nil {
		t.Fatal(err)
	}
	if len(s.sent) == 0 {
		t.Fatal("nothing sent")
	}
	last := s.sent[len(s.sent)-1]
	if last.GetImage().GetDigest() != "sha256:alpine:3" {
		t.Errorf("last message's image is %v", last.GetImage())
	}
	var got []string
	for _, l := range last.Layers {
		got = append(got, fmt.Sprintf("%s %d/%d %s", l.Digest, l.Done, l.Size, l.State))
	}
	if want := []string{"sha256:l1 10/10 Already exists", "sha256:l2 20/20 Pull complete"}; !slices.Equal(got, want) {
		t.Errorf("last layers %q, want %q", got, want)
	}
	for _, m := range s.sent[:len(s.sent)-1] {
		if m.Image != nil {
			t.Errorf("an image before the last message: %v", m)
		}
	}

	d.images.fail("pull", errors.New("registry down"))
	s = &pullStream{ctx: context.Background()}
	err := a.PullImageWithProgress(&poddv1.PullImageRequest{Ref: "x"}, s)
	if status.Code(err) != codes.Internal {
		t.Errorf("failed pull ended with %v, want Internal", err)
	}
	for _, m := range s.sent {
		if m.Image != nil {
			t.Errorf("a failed pull sent an image: %v", m)
		}
	}
	if err := a.PullImageWithProgress(&poddv1.PullImageRequest{}, &pullStream{ctx: context.Background()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("pull without a ref: %v, want InvalidArgument", err)
	}
}
