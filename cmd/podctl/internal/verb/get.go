package verb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
)

// Output formats of `get pods` besides the object formats of printers.
const (
	OutputTable = ""
	OutputWide  = "wide"
)

// GetOptions are the inputs of `podctl get pods`.
type GetOptions struct {
	Streams
	// Namespace is the namespace to look in ("" = default).
	Namespace string
	// AllNamespaces lists pods of every namespace (-A).
	AllNamespaces bool
	// Names are the pods to get; none means all.
	Names []string
	// Output is "", "wide", "yaml", "json" or "name".
	Output string
	// Watch keeps printing a line per change after the listing (-w).
	Watch bool
	Now   Clock
}

// Get prints pods as kubectl get pods does.
func Get(ctx context.Context, c poddv1.PodServiceClient, opts GetOptions) error {
	switch opts.Output {
	case OutputTable, OutputWide, printers.FormatYAML, printers.FormatJSON, printers.FormatName:
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", opts.Output)
	}
	if opts.AllNamespaces && len(opts.Names) > 0 {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	ns := namespaceOrDefault(opts.Namespace)
	pods, failed, err := getPodList(ctx, c, ns, opts)
	if err != nil {
		return err
	}
	p := &podPrinter{opts: opts, table: printers.NewTable(opts.Out)}
	if len(pods) == 0 && len(opts.Names) == 0 && (p.isTable() || opts.Output == printers.FormatName) {
		if opts.AllNamespaces {
			fmt.Fprintln(opts.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(opts.ErrOut, "No resources found in %s namespace.\n", ns)
		}
	} else if err := p.printAll(pods, len(opts.Names) != 1); err != nil {
		return err
	}
	if opts.Watch {
		if err := watchPods(ctx, c, ns, opts, p, pods); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// getPodList fetches the named pods or lists all of them (getPods), sorted
// by namespace and name when listed.
func getPodList(ctx context.Context, c poddv1.PodServiceClient, ns string, opts GetOptions) ([]corev1.Pod, bool, error) {
	listNS := ns
	if opts.AllNamespaces {
		listNS = ""
	}
	fetched, failed, err := getPods(ctx, c, ns, opts.Names, listNS, opts.ErrOut)
	if err != nil {
		return nil, false, err
	}
	pods := make([]corev1.Pod, 0, len(fetched))
	for _, fp := range fetched {
		pods = append(pods, *fp.pod)
	}
	if len(opts.Names) == 0 {
		sort.SliceStable(pods, func(i, j int) bool {
			if pods[i].Namespace != pods[j].Namespace {
				return pods[i].Namespace < pods[j].Namespace
			}
			return pods[i].Name < pods[j].Name
		})
	}
	return pods, failed, nil
}

// podPrinter prints pods in the chosen format, the table header only once.
type podPrinter struct {
	opts          GetOptions
	table         *printers.Table
	headerPrinted bool
}

func (p *podPrinter) isTable() bool {
	return p.opts.Output == OutputTable || p.opts.Output == OutputWide
}

func (p *podPrinter) printAll(pods []corev1.Pod, asList bool) error {
	if !p.isTable() {
		return printers.WritePods(p.opts.Out, pods, p.opts.Output, asList)
	}
	cols := printers.PodColumns{Wide: p.opts.Output == OutputWide, Namespace: p.opts.AllNamespaces}
	var rows [][]string
	if !p.headerPrinted {
		rows = append(rows, printers.PodHeader(cols))
		p.headerPrinted = true
	}
	now := p.opts.Now.now()
	for i := range pods {
		rows = append(rows, printers.PodRow(&pods[i], now, cols))
	}
	return p.table.Write(rows...)
}

// printChange prints one watched pod: a table row, or the object alone
// (YAML documents separated by "---").
func (p *podPrinter) printChange(pod corev1.Pod) error {
	if p.opts.Output == printers.FormatYAML {
		if _, err := io.WriteString(p.opts.Out, "---\n"); err != nil {
			return err
		}
	}
	return p.printAll([]corev1.Pod{pod}, false)
}

// watchPods prints a line per change until the stream or ctx ends. The
// daemon first replays the current pods: those already printed unchanged
// are skipped.
func watchPods(ctx context.Context, c poddv1.PodServiceClient, ns string, opts GetOptions, p *podPrinter, listed []corev1.Pod) error {
	req := &poddv1.ListPodsRequest{Namespace: ns}
	if opts.AllNamespaces {
		req.Namespace = ""
	}
	if len(opts.Names) == 1 {
		req.Name = opts.Names[0]
	}
	stream, err := c.WatchPods(ctx, req)
	if err != nil {
		return err
	}
	seen := make(map[string]string, len(listed))
	for i := range listed {
		seen[podKey(&listed[i])] = podVersion(&listed[i])
	}
	wanted := make(map[string]bool, len(opts.Names))
	for _, n := range opts.Names {
		wanted[n] = true
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return streamEnd(ctx, err)
		}
		pod, err := DecodePod(ev.GetPod())
		if err != nil {
			return err
		}
		if len(wanted) > 0 && !wanted[pod.Name] {
			continue
		}
		key, version := podKey(pod), podVersion(pod)
		if v, ok := seen[key]; ok && v == version && ev.GetType() != "DELETED" {
			continue
		}
		seen[key] = version
		if ev.GetType() == "DELETED" {
			delete(seen, key)
		}
		if err := p.printChange(*pod); err != nil {
			return err
		}
	}
}

func podKey(pod *corev1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

// podVersion identifies a pod's state: its resourceVersion when the daemon
// sets one, else its whole JSON.
func podVersion(pod *corev1.Pod) string {
	if pod.ResourceVersion != "" {
		return string(pod.UID) + "/" + pod.ResourceVersion
	}
	b, _ := json.Marshal(pod)
	return string(b)
}
