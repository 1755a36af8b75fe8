// Package image builds the busybox-static test images that podd's
// end-to-end tests and demo run: a docker-archive tar or an OCI layout holding
// one layer made from the host's /bin/busybox (Debian busybox-static).
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// HostBusybox is the statically linked busybox the images are built from.
const HostBusybox = "/bin/busybox"

// DefaultEnv is the image's Env.
var DefaultEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// IndexHTML is the content of /www/index.html in the image.
const IndexHTML = "hello from podd\n"

// epoch stamps every entry and the config, so that a build is reproducible.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	layerOnce sync.Once
	layerTar  []byte
	layerErr  error
)

// Busybox returns the busybox image with docker media types: one layer
// with /bin/busybox, a symlink in /bin for every applet, /etc/passwd and
// /etc/group (root, nobody 65534), /tmp (1777), /www/index.html, /root and
// /var/www; Cmd ["sh"] and a standard PATH.
func Busybox() (v1.Image, error) {
	return busybox(false)
}

func busybox(oci bool) (v1.Image, error) {
	layerOnce.Do(func() { layerTar, layerErr = busyboxLayer() })
	if layerErr != nil {
		return nil, layerErr
	}
	opts := []tarball.LayerOption{tarball.WithCompressionLevel(gzip.BestSpeed)}
	if oci {
		opts = append(opts, tarball.WithMediaType(types.OCILayer))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("busybox layer: %w", err)
	}
	base := empty.Image
	if oci {
		base = mutate.MediaType(mutate.ConfigMediaType(base, types.OCIConfigJSON), types.OCIManifestSchema1)
	}
	img, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers"},
		Config:       v1.Config{Cmd: []string{"sh"}, Env: DefaultEnv},
	})
	if err != nil {
		return nil, fmt.Errorf("busybox config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "podd test/image: busybox-static"},
	})
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// BuildBusybox writes the busybox image as a docker-archive tar tagged ref
// (e.g. "busybox:latest") to outPath.
func BuildBusybox(outPath, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("build busybox archive: tag %q: %w", ref, err)
	}
	img, err := Busybox()
	if err != nil {
		return fmt.Errorf("build busybox archive: %w", err)
	}
	tmp := outPath + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("build busybox archive %s: %w", outPath, err)
	}
	if err := os.Rename(tmp, outPath); err != nil {
		return fmt.Errorf("build busybox archive %s: %w", outPath, err)
	}
	return nil
}

// BuildOCILayout writes the busybox image, with OCI media types, as an OCI
// image layout in dir, named as containerd names exports: the full name in
// io.containerd.image.name and the tag in org.opencontainers.image.ref.name.
func BuildOCILayout(dir, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("build busybox layout: tag %q: %w", ref, err)
	}
	img, err := busybox(true)
	if err != nil {
		return fmt.Errorf("build busybox layout: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("build busybox layout %s: %w", dir, err)
	}
	err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          ref,
		"org.opencontainers.image.ref.name": tag.TagStr(),
	}))
	if err != nil {
		return fmt.Errorf("build busybox layout %s: %w", dir, err)
	}
	return nil
}

// busyboxLayer builds the uncompressed layer tar.
func busyboxLayer() ([]byte, error) {
	bin, err := os.ReadFile(HostBusybox)
	if err != nil {
		return nil, fmt.Errorf("read %s (install busybox-static): %w", HostBusybox, err)
	}
	applets, err := busyboxApplets()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := &layerWriter{tw: tar.NewWriter(&buf)}
	for _, d := range []struct {
		name string
		mode int64
	}{
		{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"proc", 0o555}, {"root", 0o700},
		{"sys", 0o555}, {"tmp", 0o1777}, {"usr", 0o755}, {"var", 0o755}, {"var/www", 0o755}, {"www", 0o755},
	} {
		w.dir(d.name, d.mode)
	}
	w.file("bin/busybox", 0o755, bin)
	for _, a := range applets {
		w.symlink("bin/"+a, "busybox")
	}
	w.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	w.file("etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\n"))
	w.file("www/index.html", 0o644, []byte(IndexHTML))
	if w.err == nil {
		w.err = w.tw.Close()
	}
	if w.err != nil {
		return nil, fmt.Errorf("write busybox layer: %w", w.err)
	}
	return buf.Bytes(), nil
}

// busyboxApplets lists the applets of the host busybox that can become a
// /bin symlink: plain names, not "busybox" itself, no duplicates.
func busyboxApplets() ([]string, error) {
	out, err := exec.Command(HostBusybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	seen := map[string]bool{"busybox": true}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if seen[a] || strings.Contains(a, "/") || a == "." || a == ".." {
			continue
		}
		seen[a] = true
		applets = append(applets, a)
	}
	sort.Strings(applets)
	return applets, nil
}

// layerWriter writes tar entries owned by root and stamped with epoch,
// keeping the first error.
type layerWriter struct {
	tw  *tar.Writer
	err error
}

func (w *layerWriter) write(h *tar.Header, body []byte) {
	if w.err != nil {
		return
	}
	h.ModTime, h.Format = epoch, tar.FormatPAX
	if w.err = w.tw.WriteHeader(h); w.err == nil && len(body) > 0 {
		_, w.err = w.tw.Write(body)
	}
}

func (w *layerWriter) dir(name string, mode int64) {
	w.write(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode}, nil)
}

func (w *layerWriter) file(name string, mode int64, body []byte) {
	w.write(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))}, body)
}

func (w *layerWriter) symlink(name, target string) {
	w.write(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}, nil)
}
