package verb

import (
	"context"
	"fmt"
	"time"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// TopOptions are the inputs of `podctl top pods`.
type TopOptions struct {
	Streams
	// Namespace is the namespace to look in ("" = default).
	Namespace string
	// AllNamespaces measures pods of every namespace (-A).
	AllNamespaces bool
	// Name is the pod to measure; empty measures all.
	Name string
	// Containers prints a line per container instead of per pod.
	Containers bool
	// Window is how long CPU use is measured (0: the daemon's default).
	Window time.Duration
}

// Top prints the running pods' CPU (millicores over the window) and memory
// working set as kubectl top pods does.
func Top(ctx context.Context, c poddv1.PodServiceClient, opts TopOptions) error {
	if opts.AllNamespaces && opts.Name != "" {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	ns := namespaceOrDefault(opts.Namespace)
	if opts.AllNamespaces {
		ns = ""
	}
	resp, err := c.TopPods(ctx, &poddv1.TopPodsRequest{Namespace: ns, Name: opts.Name, WindowMillis: opts.Window.Milliseconds()})
	if err != nil {
		return err
	}
	if len(resp.GetPods()) == 0 {
		if opts.AllNamespaces {
			fmt.Fprintln(opts.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(opts.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		return nil
	}
	return printers.NewTable(opts.Out).Write(topRows(resp.GetPods(), opts.AllNamespaces, opts.Containers)...)
}

// topRows lays out kubectl top's columns: [NAMESPACE] [POD] NAME CPU(cores)
// MEMORY(bytes).
func topRows(pods []*poddv1.PodUsage, allNamespaces, containers bool) [][]string {
	header := []string{"NAME", "CPU(cores)", "MEMORY(bytes)"}
	if containers {
		header = append([]string{"POD"}, header...)
	}
	if allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := [][]string{header}
	add := func(pod *poddv1.PodUsage, cells ...string) {
		if allNamespaces {
			cells = append([]string{pod.GetNamespace()}, cells...)
		}
		rows = append(rows, cells)
	}
	for _, p := range pods {
		if !containers {
			add(p, p.GetName(), millicores(p.GetCpuMillicores()), mebibytes(p.GetMemoryWorkingSetBytes()))
			continue
		}
		for _, ct := range p.GetContainers() {
			add(p, p.GetName(), ct.GetName(), millicores(ct.GetCpuMillicores()), mebibytes(ct.GetMemoryWorkingSetBytes()))
		}
	}
	return rows
}

func millicores(m int64) string { return fmt.Sprintf("%dm", m) }

// mebibytes prints memory as kubectl top does: whole Mi, rounded down.
func mebibytes(b uint64) string { return fmt.Sprintf("%dMi", b/(1<<20)) }
