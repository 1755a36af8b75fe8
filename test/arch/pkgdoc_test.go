package arch

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// STYLE rule 11: every package has a doc comment saying its job.
func TestEveryPackageHasADocComment(t *testing.T) {
	root := "../.."
	dirs := map[string]bool{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") && !strings.HasSuffix(p, ".pb.go") {
			dirs[filepath.Dir(p)] = true
		}
		return nil
	})
	for dir := range dirs {
		docs, err := packageDocs(dir)
		if err != nil {
			t.Errorf("parse %s: %v", dir, err)
			continue
		}
		for name, n := range docs {
			if n == 0 {
				t.Errorf("package %s in %s has no doc comment", name, dir)
			}
		}
	}
}

// packageDocs counts, per package clause of the non-test files in dir, the
// files with a doc comment.
func packageDocs(dir string) (map[string]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	docs := map[string]int{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			return nil, err
		}
		docs[f.Name.Name] += 0
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			docs[f.Name.Name]++
		}
	}
	return docs, nil
}
