package image

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// fromLayout opens the images an OCI layout's index.json lists. An index
// entry (multi-platform image) gives the manifest for the host platform.
// Entries naming the same manifest are merged.
func fromLayout(dir string) ([]namedImage, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index.json: %w", err)
	}
	var out []namedImage
	byDigest := map[string]int{}
	for _, desc := range im.Manifests {
		names, err := layoutNames(desc.Annotations)
		if err != nil {
			return nil, fmt.Errorf("index.json entry %s: %w", desc.Digest, err)
		}
		var img v1.Image
		switch {
		case desc.MediaType.IsImage():
			img, err = idx.Image(desc.Digest)
		case desc.MediaType.IsIndex():
			var child v1.ImageIndex
			if child, err = idx.ImageIndex(desc.Digest); err == nil {
				img, err = platformImage(child, hostPlatform())
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("index.json entry %s: %w", desc.Digest, err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("index.json entry %s: %w", desc.Digest, err)
		}
		if i, ok := byDigest[d.String()]; ok {
			out[i].names = appendNew(out[i].names, names...)
			continue
		}
		byDigest[d.String()] = len(out)
		out = append(out, namedImage{img: img, names: names})
	}
	return out, nil
}

// layoutNames reads an image's names from index.json annotations:
// containerd's full name first, then the OCI ref.name when it is a full
// reference. A bare ref.name ("latest") is only a tag and names nothing alone.
func layoutNames(annot map[string]string) ([]string, error) {
	full := annot[annotContainerdName]
	if full == "" {
		if r := annot[annotRefName]; strings.ContainsAny(r, "/:@") {
			full = r
		}
	}
	if full == "" {
		return nil, nil
	}
	n, err := Normalize(full)
	if err != nil {
		return nil, err
	}
	return []string{n}, nil
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// hostPlatform is the platform podd runs images for.
func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// platformImage picks the manifest for want from an index; an index with a
// single image manifest and no platform information gives that one.
func platformImage(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var untagged []v1.Hash
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		if d.Platform == nil {
			untagged = append(untagged, d.Digest)
			continue
		}
		if d.Platform.Satisfies(want) {
			return idx.Image(d.Digest)
		}
	}
	if len(untagged) == 1 {
		return idx.Image(untagged[0])
	}
	return nil, fmt.Errorf("no image for platform %s in index", want.String())
}
