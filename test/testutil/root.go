// Package testutil holds helpers shared by podd's tests: the root-test gate and
// polling with a deadline.
package testutil

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// RootEnv is the variable that turns root tests on. `make test` sets it.
const RootEnv = "PODD_TEST_ROOT"

// RequireRoot skips the test unless PODD_TEST_ROOT=1, and fails it when
// PODD_TEST_ROOT=1 is set but the process is not root, so that CI can never
// skip root tests silently.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Getenv(RootEnv) != "1" {
		t.Skip("root test: set " + RootEnv + "=1 (make test does) to run it")
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but not running as root (euid %d)", RootEnv, os.Geteuid())
	}
}

// ScaleEnv multiplies every WaitFor deadline (an integer, default 1): the
// cgroup v2 VM (test/v2vm) runs under TCG, 8-10x slower than the host.
const ScaleEnv = "PODD_TEST_TIMEOUT_SCALE"

// Scaled returns d multiplied by $PODD_TEST_TIMEOUT_SCALE.
func Scaled(d time.Duration) time.Duration {
	if n, err := strconv.Atoi(os.Getenv(ScaleEnv)); err == nil && n > 1 {
		return d * time.Duration(n)
	}
	return d
}

// WaitFor polls cond every interval until it returns true or timeout passes
// (scaled, see Scaled); then it fails the test with msg and the last error
// cond reported.
func WaitFor(t testing.TB, timeout time.Duration, msg string, cond func() (bool, error)) {
	t.Helper()
	timeout = Scaled(timeout)
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, msg, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
