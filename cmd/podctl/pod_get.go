package main

import (
	"fmt"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newGetCommand(a *app) *cobra.Command {
	opts := verb.GetOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "get pods|deployments|configmaps|secrets|pvc|namespaces [NAME...] | TYPE/NAME...",
		Short: "List pods and other objects",
		Long:  "List pods as a table (NAME READY STATUS RESTARTS AGE), or print them as YAML, JSON or names.",
		Example: "  podctl get pods\n  podctl get pods -A -o wide\n  podctl get pod web -o yaml\n" +
			"  podctl get pods -w\n  podctl get cm -n web\n  podctl get secret db -o yaml",
		Args: cobra.MinimumNArgs(1),
		RunE: withObjects(a, func(o *verb.ObjectOptions) error {
			if opts.Watch {
				return fmt.Errorf("--watch is supported for pods only")
			}
			o.AllNamespaces, o.Output = opts.AllNamespaces, opts.Output
			return nil
		}, verb.GetObjects, runVerb(a, &opts, a.podNames(&opts.Names, &opts.Namespace), verb.Get)),
	}
	cmd.Flags().BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "list pods of every namespace")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: wide, yaml, json or name")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "after listing, print a line for each change")
	return cmd
}
