package main

import (
	"fmt"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newTopCommand(a *app) *cobra.Command {
	top := &cobra.Command{
		Use:   "top",
		Short: "Show the CPU and memory use of pods",
	}
	opts := verb.TopOptions{Streams: a.streams}
	pods := &cobra.Command{
		Use:     "pods [NAME]",
		Aliases: []string{"pod", "po"},
		Short:   "Show the CPU and memory use of running pods",
		Long: "Show the CPU (millicores, measured over --window) and memory working set (usage minus inactive\n" +
			"file pages, as the kubelet counts it) of running pods, read from their cgroups.",
		Example: "  podctl top pods\n  podctl top pod web --containers\n  podctl top pods -A --window 5s",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Window < 0 {
				return fmt.Errorf("--window must not be negative")
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Namespace = a.namespace
			return verb.Top(cmd.Context(), c, opts)
		},
	}
	pods.Flags().BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "show pods of every namespace")
	pods.Flags().BoolVar(&opts.Containers, "containers", false, "show a line per container")
	pods.Flags().DurationVar(&opts.Window, "window", 0, "how long CPU use is measured (default 1s, at most 1m)")
	top.AddCommand(pods)
	return top
}
