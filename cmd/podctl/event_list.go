package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newEventsCommand(a *app) *cobra.Command {
	opts := verb.EventsOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "events [POD]",
		Short:   "List events of pods",
		Example: "  podctl events\n  podctl events web -w\n  podctl events -A",
		Args:    cobra.MaximumNArgs(1),
		RunE: runVerb(a, &opts, func(args []string) error {
			var err error
			if len(args) == 1 {
				opts.Pod, err = verb.PodName(args[0])
			}
			opts.Namespace = a.namespace
			return err
		}, verb.Events),
	}
	cmd.Flags().BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "events of every namespace")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "after listing, print new events as they come")
	return cmd
}
