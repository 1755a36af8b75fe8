package unmount

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// deepDirEnv names the tree the re-executed test binary removes under a low
// descriptor limit (TestRemoveAll_TreeDeeperThanTheDescriptorLimit).
const deepDirEnv = "PODD_UNMOUNT_TEST_DEEP_DIR"

// fewDescriptors is the descriptor limit of that process: what the test
// binary holds open (stdio, the runtime's) and a few more.
const fewDescriptors = 24

func TestMain(m *testing.M) {
	if dir := os.Getenv(deepDirEnv); dir != "" {
		lim := unix.Rlimit{Cur: fewDescriptors, Max: fewDescriptors}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			os.Stderr.WriteString("setrlimit: " + err.Error() + "\n")
			os.Exit(2)
		}
		if err := RemoveAll(dir); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A tree nested deeper than the process may hold descriptors (a container
// can nest directories as deep as its disk allows) is removed all the same,
// holding a few: a walk that held one per level failed with EMFILE at the
// limit, pod removal after pod removal, and until then took every
// descriptor from the rest of the daemon.
func TestRemoveAll_TreeDeeperThanTheDescriptorLimit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deep")
	const depth = 40 * fewDescriptors
	testutil.MakeDeepTree(t, dir, depth, nil)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), deepDirEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		// The error of a path-based removal names a path depth levels long.
		t.Fatalf("RemoveAll of a tree %d deep with %d descriptors: %v: %.300s", depth, fewDescriptors, err, out)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v)", dir, err)
	}
}

// A directory of more non-empty directories than one read of it returns
// (the walk goes down into one, and reads its parent again from the start
// on the way back), with files and empty directories between them, goes
// whole.
func TestRemoveAll_WideTreeOfNonEmptyDirs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wide")
	long := strings.Repeat("n", 100)
	for i := range 1500 {
		sub := filepath.Join(dir, fmt.Sprintf("%s%d", long, i))
		if err := os.MkdirAll(filepath.Join(sub, "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(sub, "f"), filepath.Join(sub, "inner", "g"), filepath.Join(dir, fmt.Sprintf("file%d", i))} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("empty%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v)", dir, err)
	}
}
