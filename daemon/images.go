package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/rootfs"
)

// removeImage removes what ref names unless a pod uses that image, then
// the unpacked layers nothing uses. It returns what was removed and how
// many layer directories went.
func (d *Daemon) removeImage(ctx context.Context, ref string) (image.Removed, int, error) {
	img, err := d.images.Get(ctx, ref)
	if err != nil {
		return image.Removed{}, 0, err
	}
	if users := imageUsers(d.podSpecs(), d.resolveImage(ctx), img.Digest); len(users) > 0 {
		return image.Removed{}, 0, classed(ErrFailedPrecondition,
			"image %q is in use by pod %s: delete the pod first", ref, strings.Join(users, ", pod "))
	}
	rm, err := d.images.Remove(ctx, ref)
	if err != nil {
		return rm, 0, err
	}
	slog.Info("image removed", "ref", ref, "untagged", rm.Untagged, "deleted", rm.Deleted)
	n, err := d.pruneLayers(ctx)
	return rm, n, err
}

// pruneImages removes every image no pod uses, then the unpacked layers
// nothing uses.
func (d *Daemon) pruneImages(ctx context.Context) ([]image.Image, int, error) {
	imgs, err := d.images.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	used := map[string]bool{}
	resolve := d.resolveImage(ctx)
	for _, p := range d.podSpecs() {
		for _, ref := range podImages(p) {
			if digest, ok := resolve(ref); ok {
				used[digest] = true
			}
		}
	}
	var deleted []image.Image
	for _, img := range imgs {
		if used[img.Digest] {
			continue
		}
		if _, err := d.images.Remove(ctx, img.Digest); err != nil {
			return deleted, 0, err
		}
		slog.Info("image pruned", "digest", img.Digest, "refs", img.Refs)
		deleted = append(deleted, img)
	}
	n, err := d.pruneLayers(ctx)
	return deleted, n, err
}

// pruneLayers deletes the unpacked layers that no stored image lists and
// no mounted container rootfs uses (a container keeps running on layers of
// an image whose tag has moved on).
func (d *Daemon) pruneLayers(ctx context.Context) (int, error) {
	var inUse []string
	for _, dir := range []string{d.deps.Layout.PodsDir(), d.deps.Layout.CRIContainersDir()} {
		used, err := rootfs.LayersInUse(dir)
		if err != nil {
			return 0, err
		}
		inUse = append(inUse, used...)
	}
	removed, err := d.images.PruneLayers(ctx, inUse)
	if err != nil {
		return len(removed), err
	}
	if len(removed) > 0 {
		slog.Info("unused image layers removed", "count", len(removed))
	}
	return len(removed), nil
}

// podSpecs returns the accepted pods, deleting ones included.
func (d *Daemon) podSpecs() []*corev1.Pod {
	entries := d.pods.list()
	out := make([]*corev1.Pod, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.worker.Snapshot())
	}
	return out
}

// resolveImage maps an image reference to the manifest digest of the
// stored image it names, if any.
func (d *Daemon) resolveImage(ctx context.Context) func(string) (string, bool) {
	return func(ref string) (string, bool) {
		img, err := d.images.Get(ctx, ref)
		if err != nil {
			return "", false
		}
		return img.Digest, true
	}
}

// imageUsers names the pods ("namespace/name") with a container whose
// image resolves to digest.
func imageUsers(pods []*corev1.Pod, resolve func(string) (string, bool), digest string) []string {
	var out []string
	for _, p := range pods {
		for _, ref := range podImages(p) {
			if got, ok := resolve(ref); ok && got == digest {
				out = append(out, fmt.Sprintf("%s/%s", p.Namespace, p.Name))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// podImages lists the image references of every container of p.
func podImages(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.InitContainers {
		out = append(out, c.Image)
	}
	for _, c := range p.Spec.Containers {
		out = append(out, c.Image)
	}
	for _, c := range p.Spec.EphemeralContainers {
		out = append(out, c.Image)
	}
	return out
}
