package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// shortIDLen is how many hex digits of an image ID docker shows.
const shortIDLen = 12

// ImageHeader is the header of `podctl images` (docker images).
func ImageHeader() []string {
	return []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}
}

// ImageRows returns one row per reference of each image (an image without
// references gets one "<none>" row), sorted by repository and tag.
func ImageRows(images []*poddv1.Image, now time.Time) [][]string {
	var rows [][]string
	for _, img := range images {
		id := ShortImageID(img.GetId())
		created := "N/A"
		if img.GetCreatedUnix() > 0 {
			created = HumanDuration(now.Sub(time.Unix(img.GetCreatedUnix(), 0))) + " ago"
		}
		size := HumanSize(img.GetSize())
		refs := img.GetRefs()
		if len(refs) == 0 {
			refs = []string{""}
		}
		for _, ref := range refs {
			repo, tag := SplitImageRef(ref)
			rows = append(rows, []string{repo, tag, id, created, size})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i][0] != rows[j][0] {
			return rows[i][0] < rows[j][0]
		}
		return rows[i][1] < rows[j][1]
	})
	return rows
}

// SplitImageRef splits "repo:tag" into repository and tag; a digest
// reference or a missing part reads "<none>".
func SplitImageRef(ref string) (repo, tag string) {
	if ref == "" {
		return "<none>", "<none>"
	}
	if r, _, ok := strings.Cut(ref, "@"); ok {
		return r, "<none>"
	}
	slash := strings.LastIndexByte(ref, '/')
	if colon := strings.LastIndexByte(ref, ':'); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, "<none>"
}

// ShortImageID returns the first 12 hex digits of an image ID, as docker
// shows it.
func ShortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > shortIDLen {
		return id[:shortIDLen]
	}
	return id
}

// HumanSize formats a byte count with three significant digits in decimal
// units, as docker does ("4.26MB").
func HumanSize(size int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	f := float64(size)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// HumanDuration formats an image's age in docker's words ("2 weeks").
func HumanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}
	minutes := int(d.Minutes())
	switch {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}
	hours := int(d.Hours() + 0.5)
	switch {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}
