package image

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	testimage "github.com/podd-dev/podd/test/image"
)

const busyboxRef = "docker.io/library/busybox:latest"

func TestImportDockerArchive(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 {
		t.Fatalf("Import returned %d images, want 1", len(imgs))
	}
	img := imgs[0]
	if !reflect.DeepEqual(img.Refs, []string{busyboxRef}) {
		t.Errorf("Refs = %v", img.Refs)
	}
	if !reflect.DeepEqual(img.Cmd, []string{"sh"}) || !reflect.DeepEqual(img.Env, testimage.DefaultEnv) {
		t.Errorf("Cmd %v Env %v", img.Cmd, img.Env)
	}
	if !strings.HasPrefix(img.ID, "sha256:") || !strings.HasPrefix(img.Digest, "sha256:") || img.Size < 1<<20 {
		t.Errorf("ID %q Digest %q Size %d", img.ID, img.Digest, img.Size)
	}
	if img.Created.Year() != 2024 || img.OS != "linux" {
		t.Errorf("Created %v OS %q", img.Created, img.OS)
	}
	idHex := strings.TrimPrefix(img.ID, "sha256:")
	for _, ref := range []string{
		"busybox", "busybox:latest", "library/busybox", busyboxRef,
		img.ID, img.Digest, "sha256:" + idHex[:12], idHex[:12], idHex,
		"busybox@" + img.Digest,
	} {
		got, err := s.Get(ctx, ref)
		if err != nil || got.Digest != img.Digest {
			t.Errorf("Get(%q) = %s, %v; want %s", ref, got.Digest, err, img.Digest)
		}
	}
	again, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil || again[0].Digest != img.Digest {
		t.Fatalf("re-import = %v, %v", again, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want one image", list, err)
	}
}

func TestGetMissingIsErrNotFound(t *testing.T) {
	s := openStore(t)
	if _, err := s.Import(context.Background(), busyboxArchive(t, "busybox:latest"), ""); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"nope", "busybox:other", "sha256:ffffffff", "ffffffff", "quay.io/busybox"} {
		_, err := s.Get(context.Background(), ref)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := s.Remove(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(nope) = %v, want ErrNotFound", err)
	}
}

func TestImportNames(t *testing.T) {
	ctx := context.Background()
	untagged := writeArchive(t, map[name.Reference]v1.Image{
		name.MustParseReference("x@sha256:0000000000000000000000000000000000000000000000000000000000000000"): labelled(t, "untagged"),
	})
	s := openStore(t)
	if _, err := s.Import(ctx, untagged, ""); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Fatalf("import of an untagged archive without a name = %v, want a no-name error", err)
	}
	imgs, err := s.Import(ctx, untagged, "mine:v1")
	if err != nil || !reflect.DeepEqual(imgs[0].Refs, []string{"docker.io/library/mine:v1"}) {
		t.Fatalf("import with name = %+v, %v", imgs, err)
	}
	if _, err := s.Import(ctx, untagged, "mine@sha256:0000000000000000000000000000000000000000000000000000000000000000"); err == nil {
		t.Error("a digest was accepted as an import name")
	}

	a, b := labelled(t, "a"), labelled(t, "b")
	multi := writeArchive(t, map[name.Reference]v1.Image{
		name.MustParseReference("app:a"):                a,
		name.MustParseReference("registry.local/app:a"): a,
		name.MustParseReference("app:b"):                b,
	})
	if _, err := s.Import(ctx, multi, "extra"); err == nil {
		t.Error("a name was accepted for an archive of several images")
	}
	imgs, err = s.Import(ctx, multi, "")
	if err != nil || len(imgs) != 2 {
		t.Fatalf("multi import = %+v, %v", imgs, err)
	}
	ga, err := s.Get(ctx, "registry.local/app:a")
	if err != nil || ga.Digest != mustDigest(t, a) || len(ga.Refs) != 2 || ga.Labels["variant"] != "a" {
		t.Errorf("Get(registry.local/app:a) = %+v, %v", ga, err)
	}
	if gb, err := s.Get(ctx, "app:b"); err != nil || gb.Labels["variant"] != "b" {
		t.Errorf("Get(app:b) = %+v, %v", gb, err)
	}
}

func TestImportOCILayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := testimage.BuildOCILayout(dir, "busybox:oci"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path string }{{"dir", dir}, {"tar", tarDir(t, dir)}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			imgs, err := s.Import(ctx, tc.path, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 1 || !reflect.DeepEqual(imgs[0].Refs, []string{"docker.io/library/busybox:oci"}) {
				t.Fatalf("imported %+v", imgs)
			}
			if _, err := s.Get(ctx, "busybox:oci"); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(s.tmpDir()); len(ents) != 0 {
				t.Errorf("temp files left: %v", ents)
			}
		})
	}
	t.Run("bare ref.name needs a name", func(t *testing.T) {
		p, err := layout.FromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, _ := p.ImageIndex()
		m, _ := im.IndexManifest()
		bare := filepath.Join(t.TempDir(), "bare")
		bp, err := layout.Write(bare, emptyIndex(t))
		if err != nil {
			t.Fatal(err)
		}
		img, _ := p.Image(m.Manifests[0].Digest)
		if err := bp.AppendImage(img, layout.WithAnnotations(map[string]string{annotRefName: "latest"})); err != nil {
			t.Fatal(err)
		}
		s := openStore(t)
		if _, err := s.Import(ctx, bare, ""); err == nil {
			t.Error("layout naming only a tag imported without a name")
		}
		if imgs, err := s.Import(ctx, bare, "bare"); err != nil || imgs[0].Refs[0] != "docker.io/library/bare:latest" {
			t.Errorf("import with name = %+v, %v", imgs, err)
		}
	})
}

func TestImportGzippedArchive(t *testing.T) {
	src := busyboxArchive(t, "busybox:gz")
	gz := filepath.Join(t.TempDir(), "busybox.tar.gz")
	in, _ := os.Open(src)
	defer in.Close()
	out, _ := os.Create(gz)
	zw := gzip.NewWriter(out)
	io.Copy(zw, in)
	zw.Close()
	out.Close()
	s := openStore(t)
	if _, err := s.Import(context.Background(), gz, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "busybox:gz"); err != nil {
		t.Fatal(err)
	}
}

func TestImportClassicDockerSave(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	imgs, err := s.Import(ctx, classicArchive(t, busyboxArchive(t, "busybox:classic")), "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(imgs[0].Refs, []string{"docker.io/library/busybox:classic"}) {
		t.Fatalf("Refs = %v", imgs[0].Refs)
	}
	dirs, err := s.Layers(ctx, imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "bin/busybox")); err != nil {
		t.Error(err)
	}
}

func TestImportRejectsOtherFiles(t *testing.T) {
	s := openStore(t)
	p := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(p, []byte("not a tar"), 0o644)
	if _, err := s.Import(context.Background(), p, "x"); err == nil {
		t.Error("junk file imported")
	}
	if _, err := s.Import(context.Background(), t.TempDir(), "x"); err == nil {
		t.Error("plain directory imported")
	}
}

func TestRemoveUntagsThenDeletes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	img := labelled(t, "a")
	p := writeArchive(t, map[name.Reference]v1.Image{
		name.MustParseReference("app:1"): img,
		name.MustParseReference("app:2"): img,
	})
	if _, err := s.Import(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	nblobs := countBlobs(t, s)
	rm, err := s.Remove(ctx, "app:1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rm, Removed{Untagged: []string{"docker.io/library/app:1"}}) {
		t.Errorf("untag = %+v, want only app:1 untagged", rm)
	}
	got, err := s.Get(ctx, "app:2")
	if err != nil || !reflect.DeepEqual(got.Refs, []string{"docker.io/library/app:2"}) {
		t.Fatalf("after untag: %+v, %v", got, err)
	}
	if n := countBlobs(t, s); n != nblobs {
		t.Errorf("untag removed blobs: %d -> %d", nblobs, n)
	}
	rm, err = s.Remove(ctx, "app:2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rm, Removed{Untagged: []string{"docker.io/library/app:2"}, Deleted: got.Digest}) {
		t.Errorf("last untag = %+v, want app:2 untagged and %s deleted", rm, got.Digest)
	}
	if _, err := s.Get(ctx, got.Digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("image still there after its last tag went: %v", err)
	}
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs left after the last image went", n)
	}
}

func TestRemoveByIDRemovesAllNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	img := labelled(t, "a")
	p := writeArchive(t, map[name.Reference]v1.Image{
		name.MustParseReference("app:1"): img,
		name.MustParseReference("app:2"): img,
	})
	imgs, err := s.Import(ctx, p, "")
	if err != nil {
		t.Fatal(err)
	}
	rm, err := s.Remove(ctx, imgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Untagged) != 2 || rm.Deleted != imgs[0].Digest {
		t.Errorf("remove by ID = %+v, want both tags and %s", rm, imgs[0].Digest)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("List after remove by ID = %+v", list)
	}
}

func TestRetagDropsOldImage(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a, b := labelled(t, "a"), labelled(t, "b")
	if _, err := s.Import(ctx, writeArchive(t, map[name.Reference]v1.Image{name.MustParseReference("app"): a}), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, writeArchive(t, map[name.Reference]v1.Image{name.MustParseReference("app"): b}), ""); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Labels["variant"] != "b" {
		t.Fatalf("List = %+v, %v; want only image b", list, err)
	}
	cfgA, _ := a.ConfigName()
	if _, err := os.Stat(filepath.Join(s.blobDir(), cfgA.Hex)); !os.IsNotExist(err) {
		t.Errorf("config blob of the dropped image kept: %v", err)
	}
}

func TestReopenKeepsImagesAndLayout(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "images")
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "tmp", "blob-leftover"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(root, "layers", ".tmp-half"), 0o700)
	halfBlob := "content/blobs/sha256/." + strings.Repeat("ab", 32) + ".tmp-123"
	os.WriteFile(filepath.Join(root, halfBlob), []byte("x"), 0o600)
	s2, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Get(ctx, "busybox")
	if err != nil || got.Digest != imgs[0].Digest {
		t.Fatalf("Get after reopen = %+v, %v", got, err)
	}
	for _, p := range []string{"tmp/blob-leftover", "layers/.tmp-half", halfBlob} {
		if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("leftover %s not removed: %v", p, err)
		}
	}
	// The content directory is a valid OCI layout naming the image.
	idx, err := layout.ImageIndexFromPath(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations[annotContainerdName] != busyboxRef {
		t.Errorf("index.json = %+v", im.Manifests)
	}
}

func countBlobs(t testing.TB, s *Store) int {
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
