package rootfs

import (
	"fmt"
	"path/filepath"
	"strings"
)

// overlayOptions builds the overlay mount data for lowerDirs given oldest
// first (overlayfs wants the topmost lower dir first, so they are
// reversed, and repeats dropped). Mount data must fit in one page (limit bytes). When the
// absolute form does not fit, the lower dirs are written relative to their
// common parent and chdir names that parent: the mount must then be made
// from it (containerd does the same). With no upper and work dir (both
// ""), the overlay is read-only.
func overlayOptions(lowerDirs []string, upper, work string, limit int) (data, chdir string, err error) {
	if len(lowerDirs) == 0 {
		return "", "", fmt.Errorf("overlay needs at least one lower dir")
	}
	paths := lowerDirs
	if upper != "" || work != "" {
		paths = append([]string{upper, work}, lowerDirs...)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return "", "", fmt.Errorf("overlay path %q is not absolute", p)
		}
		if strings.ContainsAny(p, ",:") {
			return "", "", fmt.Errorf("overlay path %q holds ',' or ':'", p)
		}
	}
	// Newest first. A layer listed twice (images often repeat the empty
	// layer) keeps only its newest place: everything the lower copy could
	// show, the upper copy already shows, and overlayfs refuses a dir twice.
	var lowers []string
	seen := map[string]bool{}
	for i := len(lowerDirs) - 1; i >= 0; i-- {
		d := filepath.Clean(lowerDirs[i])
		if !seen[d] {
			seen[d] = true
			lowers = append(lowers, d)
		}
	}
	data = join(lowers, upper, work)
	if len(data) <= limit {
		return data, "", nil
	}
	parent := commonParent(lowers)
	rel := make([]string, len(lowers))
	for i, l := range lowers {
		rel[i] = strings.TrimPrefix(strings.TrimPrefix(l, parent), "/")
	}
	data = join(rel, upper, work)
	if len(data) > limit {
		return "", "", fmt.Errorf("overlay mount options for %d lower dirs need %d bytes, more than %d", len(lowers), len(data), limit)
	}
	return data, parent, nil
}

func join(lowers []string, upper, work string) string {
	data := "lowerdir=" + strings.Join(lowers, ":")
	if upper == "" {
		return data
	}
	return data + ",upperdir=" + upper + ",workdir=" + work
}

// commonParent is the deepest directory that holds every path in paths
// (all absolute and clean), never one of the paths themselves.
func commonParent(paths []string) string {
	parent := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for parent != "/" && !strings.HasPrefix(p, parent+"/") {
			parent = filepath.Dir(parent)
		}
	}
	return parent
}
