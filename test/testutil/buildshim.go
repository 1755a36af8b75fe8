package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ShimBuild returns the command that builds podd-shim and podd-create (which
// the shim runs from its own directory) into dir as make build does: with
// the Makefile's SHIM_TAGS (and extraTags) and SHIM_LDFLAGS, cgo on, from the
// repository holding the working directory.
func ShimBuild(dir string, extraTags ...string) (*exec.Cmd, error) {
	repo, err := repoRoot()
	if err != nil {
		return nil, err
	}
	vars, err := MakefileVars("SHIM_TAGS", "SHIM_LDFLAGS")
	if err != nil {
		return nil, err
	}
	tags := strings.Join(append([]string{vars["SHIM_TAGS"]}, extraTags...), ",")
	cmd := exec.Command("go", "build", "-tags", tags, "-ldflags", vars["SHIM_LDFLAGS"], "-o", dir+"/", "./cmd/podd-shim", "./cmd/podd-create")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	return cmd, nil
}

// repoRoot is the nearest directory above the working directory with a
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// MakefileVars returns the values the repository's Makefile gives the
// simple ("NAME := value") variables names; each must be set there.
func MakefileVars(names ...string) (map[string]string, error) {
	repo, err := repoRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(repo, "Makefile")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, name := range names {
			if v, ok := strings.CutPrefix(line, name+" :="); ok {
				vars[name] = strings.TrimSpace(v)
			}
		}
	}
	for _, name := range names {
		if _, ok := vars[name]; !ok {
			return nil, fmt.Errorf("%s sets no %s", path, name)
		}
	}
	return vars, nil
}
