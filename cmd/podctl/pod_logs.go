package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newLogsCommand(a *app) *cobra.Command {
	opts := verb.LogsOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "logs POD [-c CONTAINER]",
		Short:   "Print a container's log",
		Example: "  podctl logs web\n  podctl logs web -c sidecar -f\n  podctl logs web --previous --tail 20",
		Args:    cobra.ExactArgs(1),
		RunE: runVerb(a, &opts, func(args []string) error {
			var err error
			opts.Pod, err = verb.PodName(args[0])
			opts.Namespace = a.namespace
			return err
		}, verb.Logs),
	}
	cmd.Flags().StringVarP(&opts.Container, "container", "c", "", "the container (default: the only or first one)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep streaming new lines")
	cmd.Flags().BoolVarP(&opts.Previous, "previous", "p", false, "the log of the previous instance of the container")
	cmd.Flags().Int64Var(&opts.Tail, "tail", -1, "show only the last N lines (-1: all)")
	cmd.Flags().BoolVar(&opts.Timestamps, "timestamps", false, "prefix each line with its time")
	return cmd
}
