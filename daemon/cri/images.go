package cri

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// toCRIImages turns stored images into CRI images, one per image ID: podd
// keys images by manifest, CRI by config digest, so manifests sharing a
// config are one CRI image with the names of all (as containerd lists them).
func toCRIImages(imgs []image.Image) []*runtimeapi.Image {
	byID := map[string]*runtimeapi.Image{}
	var order []string
	for _, img := range imgs {
		c, ok := byID[img.ID]
		if !ok {
			byID[img.ID] = toCRIImage(img)
			order = append(order, img.ID)
			continue
		}
		c.RepoTags = mergeSorted(c.RepoTags, img.Refs)
		c.RepoDigests = mergeSorted(c.RepoDigests, img.RepoDigests)
	}
	out := make([]*runtimeapi.Image, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	return out
}

// toCRIImage describes one stored image the way containerd's CRI plugin
// does: the config digest as ID, canonical names, the stored (compressed)
// size, and the image user as a uid when numeric, else as a name.
func toCRIImage(img image.Image) *runtimeapi.Image {
	c := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    slices.Clone(img.Refs),
		RepoDigests: slices.Clone(img.RepoDigests),
		Size:        uint64(max(img.Size, 0)),
	}
	uid, name := imageUser(img.User)
	if uid != nil {
		c.Uid = &runtimeapi.Int64Value{Value: *uid}
	}
	c.Username = name
	return c
}

// imageUser splits an image config's User ("name", "uid", "uid:gid") into
// a uid when numeric, else a user name; both empty when unset.
func imageUser(user string) (*int64, string) {
	user, _, _ = strings.Cut(user, ":")
	if user == "" {
		return nil, ""
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return nil, user
	}
	return &uid, ""
}

func mergeSorted(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	sort.Strings(out)
	return slices.Compact(out)
}

// sameID keeps the CRI images whose ID is id.
func sameID(imgs []*runtimeapi.Image, id string) *runtimeapi.Image {
	for _, c := range imgs {
		if c.Id == id {
			return c
		}
	}
	return nil
}
