package procusage

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// proc is one fake /proc/<pid>: its status Threads line, its limits' soft
// open files column and its fds' link targets.
type proc struct {
	threads, nofile string
	fds             []string
}

func fakeProc(t *testing.T, procs map[int]proc) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		status := "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" + strconv.Itoa(pid) + "\nThreads:\t" + p.threads + "\nSigQ:\t0/96362\n"
		limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
			"Max processes             96362                96362                processes \n" +
			"Max open files            " + p.nofile + "                1048576              files     \n"
		for name, data := range map[string]string{"status": status, "limits": limits} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for i, target := range p.fds {
			if err := os.Symlink(target, filepath.Join(dir, "fd", strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestReadAddsUpThreadsFdsAndSockets(t *testing.T) {
	root := fakeProc(t, map[int]proc{
		10: {threads: "1", nofile: "1024", fds: []string{"/dev/null", "pipe:[77]", "socket:[1234]"}},
		11: {threads: "4", nofile: "1024", fds: []string{"/dev/null", "socket:[99]", "socket:[100]", "anon_inode:[eventpoll]"}},
	})
	// Process 12 is gone by the time it is read: counted as a process only.
	got := Reader{Root: root}.Read([]int{10, 11, 12})
	want := Usage{Processes: 3, Threads: 5, FileDescriptors: 7, Sockets: 3}
	if got != want {
		t.Errorf("usage %+v, want %+v", got, want)
	}
	if got := (Reader{Root: root}).Read(nil); got != (Usage{}) {
		t.Errorf("no processes: %+v", got)
	}
}

func TestReadIsBounded(t *testing.T) {
	fds := make([]string, MaxLinks+10)
	for i := range fds {
		fds[i] = "socket:[" + strconv.Itoa(i) + "]"
	}
	root := fakeProc(t, map[int]proc{1: {threads: "1", nofile: "1", fds: fds}})
	got := Reader{Root: root}.Read([]int{1})
	if got.FileDescriptors != uint64(len(fds)) || got.Sockets != MaxLinks {
		t.Errorf("usage %+v, want every fd counted and sockets among the first %d", got, MaxLinks)
	}
}

func TestMaxOpenFiles(t *testing.T) {
	root := fakeProc(t, map[int]proc{1: {nofile: "1024"}, 2: {nofile: "unlimited"}, 3: {nofile: "x"}})
	r := Reader{Root: root}
	if n, err := r.MaxOpenFiles(1); err != nil || n != 1024 {
		t.Errorf("MaxOpenFiles = %d, %v; want 1024", n, err)
	}
	if n, err := r.MaxOpenFiles(2); err != nil || n != math.MaxUint64 {
		t.Errorf("unlimited: %d, %v", n, err)
	}
	for _, pid := range []int{3, 4} {
		if _, err := r.MaxOpenFiles(pid); err == nil {
			t.Errorf("MaxOpenFiles(%d) succeeded", pid)
		}
	}
	if n, err := (Reader{}).MaxOpenFiles(os.Getpid()); err != nil || n == 0 {
		t.Errorf("this process: %d, %v", n, err)
	}
}
