package holder

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// What a throwaway thread enters never reaches the process's main thread:
// /proc/self is the main thread's view (libcontainer's validator compares
// a container's netns with /proc/self/ns/net to refuse net sysctls "in the
// host network namespace"), and the Go runtime parks a main thread whose
// goroutine ended locked instead of ending it.
func TestThrowawayThreadIsNeverTheMainThread(t *testing.T) {
	testutil.RequireRoot(t)
	before, err := os.Readlink("/proc/self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		err := onThrowawayThread(func() error {
			if unix.Gettid() == unix.Getpid() {
				t.Error("a throwaway thread is the main thread")
			}
			return unix.Unshare(unix.CLONE_NEWUTS)
		})
		if err != nil {
			t.Fatal(err)
		}
		if now, _ := os.Readlink("/proc/self/ns/uts"); now != before {
			t.Fatalf("after %d throwaway threads the main thread is in UTS namespace %s, not %s", i+1, now, before)
		}
	}
}
