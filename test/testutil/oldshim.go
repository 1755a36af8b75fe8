package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PreTTRPCCommit is the last podd whose podd-shim serves its API over gRPC
// only (issue 13 added ttrpc). Its shims keep running across an upgrade of
// the daemon, so a new daemon must still drive them.
const PreTTRPCCommit = "8505f4d6fdd62cc44adf5223ff7000a858792e4b"

// PreTTRPCStreamsCommit is the last podd whose podd-shim serves Exec and
// Attach over gRPC, beside ttrpc for the rest (issue 13 moved them to
// windowed ttrpc streams and took gRPC out of the shim).
const PreTTRPCStreamsCommit = "4570b62204cb5dbe616c722ddbd5af02c990546c"

// BuildShimAt builds podd-shim as the Makefile does, from commit of this
// repository's history, into out (and podd-create beside it, when the
// commit has it). A checkout without that history (no git,
// a shallow clone) skips the test and says why.
func BuildShimAt(t testing.TB, commit, out string) {
	t.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not run: this test builds podd-shim from git history and this is no git checkout: %v", err)
	}
	repo := strings.TrimSpace(string(top))
	if out, err := exec.Command("git", "-C", repo, "cat-file", "-e", commit+"^{commit}").CombinedOutput(); err != nil {
		t.Skipf("not run: this test needs commit %s in the repository's history (a shallow clone lacks it): %v %s", commit, err, out)
	}
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repo, commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("extract %s: %v %s", commit, err, out)
	}
	build := func(cmd, bin string) {
		b := exec.Command("go", "build", "-tags", "seccomp,runc_nocriu,grpcnotrace", "-o", bin, "./cmd/"+cmd)
		b.Dir = src
		b.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := b.CombinedOutput(); err != nil {
			t.Fatalf("build %s of %s: %v\n%s", cmd, commit, err, out)
		}
	}
	build("podd-shim", out)
	// A shim since podd-create runs containers through it, beside itself.
	if _, err := os.Stat(filepath.Join(src, "cmd", "podd-create")); err == nil {
		build("podd-create", filepath.Join(filepath.Dir(out), "podd-create"))
	}
}
