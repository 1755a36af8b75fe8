package shimdir

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// isV2 says whether hierarchy root is a cgroup v2 one (a pure v2 host's,
// or a hybrid host's unified hierarchy), where the kernel renames no
// cgroup.
func isV2(t *testing.T, root string) bool {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	return st.Type == 0x63677270 // CGROUP2_SUPER_MAGIC
}

// inode is the inode number of path, 0 if it does not exist.
func inode(path string) uint64 {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// AdoptCgroup renames the cgroup made ahead to the pod's in every v1
// hierarchy (the same directory: its inode), removes it from every v2 one
// (there the pod's is made by its setup), leaves a pod cgroup that exists
// alone, and does nothing across parents.
func TestAdoptCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	parent := fmt.Sprintf("/pdadopt%d", rand.Uint32())
	ahead, pod, other := parent+"/spare", parent+"/pod", parent+"/other"
	t.Cleanup(func() {
		for _, root := range hierarchies() {
			for _, p := range []string{pod, ahead, other + "/pod", other, parent} {
				_ = syscall.Rmdir(filepath.Join(root, p))
			}
		}
	})
	roots := hierarchies()
	if len(roots) == 0 {
		t.Fatal("no cgroup hierarchy mounted")
	}
	made := map[string]uint64{}
	for _, root := range roots {
		if err := os.MkdirAll(filepath.Join(root, ahead), 0o755); err != nil {
			t.Fatal(err)
		}
		made[root] = inode(filepath.Join(root, ahead))
	}
	AdoptCgroup(ahead, pod)
	for _, root := range roots {
		got, left := inode(filepath.Join(root, pod)), inode(filepath.Join(root, ahead))
		switch {
		case left != 0:
			t.Errorf("%s: the cgroup made ahead is still there", root)
		case isV2(t, root) && got != 0:
			t.Errorf("%s (v2): the pod cgroup exists; the kernel renames no v2 cgroup", root)
		case !isV2(t, root) && got != made[root]:
			t.Errorf("%s: the pod cgroup has inode %d, want the one made ahead (%d)", root, got, made[root])
		}
	}

	// The pod's cgroup exists (made by its setup, or adopted): a new one
	// made ahead is not renamed onto it, and stays for the next spare on
	// v1; nor is one moved to another parent.
	for _, root := range roots {
		if err := os.MkdirAll(filepath.Join(root, pod), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, ahead), 0o755); err != nil {
			t.Fatal(err)
		}
		made[root] = inode(filepath.Join(root, pod))
	}
	AdoptCgroup(ahead, pod)
	AdoptCgroup(ahead, other+"/pod")
	for _, root := range roots {
		if inode(filepath.Join(root, pod)) != made[root] {
			t.Errorf("%s: the pod's existing cgroup was replaced", root)
		}
		if inode(filepath.Join(root, ahead)) == 0 {
			t.Errorf("%s: the cgroup made ahead went, with the pod's cgroup there or another parent", root)
		}
		if inode(filepath.Join(root, other, "pod")) != 0 {
			t.Errorf("%s: the cgroup made ahead moved to another parent", root)
		}
	}
}
