package ownership

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func roots(t *testing.T) (dir, a, b string) {
	t.Helper()
	base := t.TempDir()
	dir, a, b = filepath.Join(base, "owners"), filepath.Join(base, "a"), filepath.Join(base, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir, a, b
}

func TestSecondRootIsRefusedNamingTheOwner(t *testing.T) {
	dir, a, b := roots(t)
	ra, rb := NewRegistry(dir, a, nil), NewRegistry(dir, b, nil)
	res := []Resource{{CgroupParent, "/podd"}, {Bridge, "podd0"}, {Subnet, "10.88.0.0/16"}}
	if err := ra.Claim(res); err != nil {
		t.Fatal(err)
	}
	// The same root claims again (a restart): fine.
	if err := ra.Claim(res); err != nil {
		t.Fatalf("owner reclaiming: %v", err)
	}
	err := rb.Claim([]Resource{{RunRoot, "/run/b"}, {CgroupParent, "/podd"}, {Subnet, "10.88.7.0/24"}})
	var ce *ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 2 {
		t.Fatalf("want two conflicts, got %v", err)
	}
	for _, want := range []string{"cgroup-parent /podd", "subnet 10.88.7.0/24", "--root " + a} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// All or nothing: b got none, not even the free run root.
	if rb.Owns(Resource{RunRoot, "/run/b"}) {
		t.Error("a refused claim took the free resources")
	}
	if !ra.Owns(Resource{CgroupParent, "/podd"}) || rb.Owns(Resource{CgroupParent, "/podd"}) {
		t.Error("ownership of /podd changed")
	}
}

func TestSubnetsConflictWhenTheyOverlap(t *testing.T) {
	dir, a, b := roots(t)
	ra, rb := NewRegistry(dir, a, nil), NewRegistry(dir, b, nil)
	if err := ra.Claim([]Resource{{Subnet, "10.90.3.0/24"}}); err != nil {
		t.Fatal(err)
	}
	for cidr, free := range map[string]bool{"10.90.3.0/24": false, "10.90.0.0/16": false, "10.90.3.128/25": false, "10.90.4.0/24": true} {
		_, n, _ := net.ParseCIDR(cidr)
		got, err := rb.SubnetFree(n)
		if err != nil || got != free {
			t.Errorf("SubnetFree(%s) = %v, %v; want %v", cidr, got, err, free)
		}
	}
}

// Two daemons' cluster IPs must not overlap (each one's rules would
// capture the other's traffic): a service CIDR conflicts with any
// overlapping one, not with a pod subnet of the same addresses (that is
// checked by the network).
func TestServiceCIDRsConflictWhenTheyOverlap(t *testing.T) {
	dir, a, b := roots(t)
	ra, rb := NewRegistry(dir, a, nil), NewRegistry(dir, b, nil)
	if err := ra.Claim([]Resource{{ServiceCIDR, "10.96.0.0/16"}}); err != nil {
		t.Fatal(err)
	}
	for cidr, free := range map[string]bool{"10.96.0.0/16": false, "10.96.7.0/24": false, "10.0.0.0/8": false, "10.97.0.0/16": true} {
		err := rb.Claim([]Resource{{ServiceCIDR, cidr}})
		var conflict *ConflictError
		if free != (err == nil) || (!free && (!errors.As(err, &conflict) || !strings.Contains(err.Error(), "service-cidr "+cidr+" belongs to the podd with --root "+a))) {
			t.Errorf("claim of service CIDR %s: %v; want free %v", cidr, err, free)
		}
		if err == nil {
			rb.Release()
		}
	}
	if err := rb.Claim([]Resource{{Subnet, "10.96.3.0/24"}}); err != nil {
		t.Errorf("a pod subnet conflicts with a service CIDR: %v", err)
	}
}

func TestClaimOfAVanishedRootIsTakenOver(t *testing.T) {
	dir, a, b := roots(t)
	if err := NewRegistry(dir, a, nil).Claim([]Resource{{Bridge, "br-x"}, {Subnet, "10.90.9.0/24"}}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(a)
	rb := NewRegistry(dir, b, nil)
	if err := rb.Claim([]Resource{{Bridge, "br-x"}, {Subnet, "10.90.9.0/24"}}); err != nil {
		t.Fatalf("claims of a removed root block: %v", err)
	}
	if !rb.Owns(Resource{Bridge, "br-x"}) {
		t.Error("not taken over")
	}
}

func TestReleaseGivesBackOnlyOwnClaims(t *testing.T) {
	dir, a, b := roots(t)
	ra, rb := NewRegistry(dir, a, nil), NewRegistry(dir, b, nil)
	ra.Claim([]Resource{{Socket, "/run/a.sock"}})
	rb.Claim([]Resource{{Socket, "/run/b.sock"}})
	if err := ra.Release(); err != nil {
		t.Fatal(err)
	}
	if ra.Owns(Resource{Socket, "/run/a.sock"}) || !rb.Owns(Resource{Socket, "/run/b.sock"}) {
		t.Error("release took the wrong claims")
	}
	if err := rb.Claim([]Resource{{Socket, "/run/a.sock"}}); err != nil {
		t.Errorf("a released resource stays taken: %v", err)
	}
}

func TestRootLockIsExclusive(t *testing.T) {
	root := t.TempDir()
	l, err := LockRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockRoot(root)
	if err == nil || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := LockRoot(root)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

func TestClaimOfAnIdleRootIsTakenOver(t *testing.T) {
	dir, a, b := roots(t)
	if err := NewRegistry(dir, a, nil).Claim([]Resource{{Bridge, "br-y"}}); err != nil {
		t.Fatal(err)
	}
	busy := NewRegistry(dir, b, func(string) bool { return false })
	if err := busy.Claim([]Resource{{Bridge, "br-y"}}); err == nil {
		t.Fatal("took the bridge of a root in use")
	}
	idle := NewRegistry(dir, b, func(root string) bool { return root == a })
	if err := idle.Claim([]Resource{{Bridge, "br-y"}}); err != nil {
		t.Fatalf("claims of an idle root block: %v", err)
	}
}

func TestRunningSeesTheLockHolder(t *testing.T) {
	root := t.TempDir()
	if Running(root) {
		t.Fatal("running without a lock file")
	}
	l, err := LockRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	if !Running(root) {
		t.Error("the lock holder is not seen running")
	}
	l.Unlock()
	if Running(root) {
		t.Error("running after unlock")
	}
}

func TestHeldInLockTable(t *testing.T) {
	table := "1: FLOCK  ADVISORY  WRITE 4242 00:2d:1234 0 EOF\n" +
		"1: -> FLOCK  ADVISORY  WRITE 4343 00:2d:5678 0 EOF\n" +
		"2: POSIX  ADVISORY  WRITE 99 08:01:777 0 EOF\n"
	for _, tc := range []struct {
		major, minor uint32
		ino          uint64
		want         bool
	}{{0, 0x2d, 1234, true}, {0, 0x2d, 5678, false}, {8, 1, 777, false}, {0, 0x2d, 9, false}} {
		if got := heldInLockTable(table, tc.major, tc.minor, tc.ino); got != tc.want {
			t.Errorf("%x:%x:%d held = %v, want %v", tc.major, tc.minor, tc.ino, got, tc.want)
		}
	}
}

// A daemon killed while it forked a child (a shim, a CNI plugin) leaves its
// lock to that child until the child's exec closes it: a daemon started
// again at once waits for that lock instead of refusing to start, as long
// as the pid the lock file names is gone; a live holder is refused at once.
func TestRootLockLeftToADeadDaemonsChildIsWaitedFor(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	// The child's copy of the dead daemon's lock.
	child, err := os.OpenFile(filepath.Join(root, RootLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if err := unix.Flock(int(child.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := child.WriteString(strconv.Itoa(dead.Process.Pid) + "\n"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() {
		close(released)
		child.Close() // the child's exec
	})
	l, err := LockRoot(root)
	if err != nil {
		t.Fatalf("lock held by a dead daemon's child: %v", err)
	}
	select {
	case <-released:
	default:
		t.Error("locked while the child still held the lock")
	}
	// Now a live daemon (this process) holds it: refused at once.
	start := time.Now()
	if _, err := LockRoot(root); err == nil || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("second lock while a live daemon holds it: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing a live holder took %v", d)
	}
	l.Unlock()
}
