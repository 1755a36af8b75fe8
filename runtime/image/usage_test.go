package image

import (
	"context"
	"testing"
)

func TestUsageGrowsWithImagesAndShrinksOnRemove(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	empty, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), ""); err != nil {
		t.Fatal(err)
	}
	full, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if full.Bytes <= empty.Bytes || full.Inodes <= empty.Inodes {
		t.Errorf("usage after an import %+v, before %+v", full, empty)
	}
	if _, err := s.Remove(ctx, "busybox"); err != nil {
		t.Fatal(err)
	}
	after, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Bytes >= full.Bytes {
		t.Errorf("usage after remove %+v, with the image %+v", after, full)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Usage(cctx); err == nil {
		t.Error("Usage with a cancelled context succeeded")
	}
}
