package planner

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The planner is pure (STYLE.md rules 1 and 15): it imports only the standard library
// (without the packages that reach the outside world) and k8s.io/api and apimachinery.

// forbiddenStd are standard packages the planner itself must not import: no I/O, no
// processes, no network, no logging, no concurrency.
var forbiddenStd = []string{"os", "os/exec", "os/signal", "net", "syscall", "unsafe", "log",
	"log/slog", "sync", "sync/atomic", "runtime", "io/fs", "io/ioutil", "path/filepath", "math/rand", "crypto/rand"}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

func TestDeps_planner_imports_only_std_and_k8s_types(t *testing.T) {
	t.Parallel()
	std := map[string]bool{}
	for _, p := range goList(t, "std") {
		std[p] = true
	}
	for _, imp := range goList(t, "-f", `{{join .Imports " "}}`, ".") {
		switch {
		case strings.HasPrefix(imp, "k8s.io/api/"), strings.HasPrefix(imp, "k8s.io/apimachinery/"):
		case !std[imp]:
			t.Errorf("planner imports %s: only the standard library and k8s.io/api, k8s.io/apimachinery are allowed", imp)
		default:
			for _, bad := range forbiddenStd {
				if imp == bad || strings.HasPrefix(imp, bad+"/") || strings.HasPrefix(imp, "net/") {
					t.Errorf("planner imports %s: the planner does no I/O, exec, network, logging or concurrency", imp)
					break
				}
			}
		}
	}
}

// The k8s.io types pull in os and net themselves; what must never come in, even
// transitively, is process execution, RPC, the runtime libraries or other podd code.
func TestDeps_planner_links_no_exec_rpc_or_runtime(t *testing.T) {
	t.Parallel()
	self := goList(t, ".")[0]
	for _, dep := range goList(t, "-deps", ".") {
		switch {
		case dep == "os/exec",
			strings.HasPrefix(dep, "google.golang.org/grpc"),
			strings.HasPrefix(dep, "github.com/opencontainers/"),
			strings.HasPrefix(dep, "github.com/containernetworking/"),
			strings.HasPrefix(dep, "github.com/vishvananda/"),
			strings.HasPrefix(dep, "github.com/podd-dev/podd/") && dep != self:
			t.Errorf("planner links %s", dep)
		}
	}
}

// No clock, no sleeping, no goroutines in the planner's code: time comes from Input.Now.
func TestDeps_planner_reads_no_clock_and_starts_no_goroutine(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	clock := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement in the planner", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && clock[n.Sel.Name] {
					t.Errorf("%s: time.%s in the planner; use Input.Now", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
}
