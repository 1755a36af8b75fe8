package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newDeleteCommand(a *app) *cobra.Command {
	opts := verb.DeleteOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "delete pod|deployment|configmap|secret|pvc|namespace NAME... | TYPE/NAME... | -f FILE",
		Short: "Delete pods and other objects (a namespace with everything in it)",
		Long: "Delete pods gracefully (preStop, stop signal, SIGKILL after the grace period) and wait until they are gone.\n" +
			"--force deletes at once and is required to delete a static pod (its manifest file is removed).",
		Example: "  podctl delete pod web\n  podctl delete pod/web --grace-period 0\n  podctl delete -f web.yaml",
		RunE: withObjects(a, func(o *verb.ObjectOptions) error {
			o.Wait, o.IgnoreNotFound = opts.Wait, opts.IgnoreNotFound
			return nil
		}, verb.DeleteObjects, runVerb(a, &opts, func(args []string) error {
			var err error
			if len(args) > 0 {
				opts.Names, err = verb.ParseResourceArgs(args)
			}
			opts.Namespace = a.namespace
			return err
		}, verb.Delete)),
	}
	cmd.Flags().StringArrayVarP(&opts.Files, "filename", "f", nil, "delete the pods named in this manifest (repeatable)")
	cmd.Flags().Int64Var(&opts.GracePeriod, "grace-period", -1, "seconds to let the pod stop (0: kill at once; -1: the pod's own)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete at once; needed for static pods")
	cmd.Flags().BoolVar(&opts.Wait, "wait", true, "wait until the pod is gone")
	cmd.Flags().BoolVar(&opts.IgnoreNotFound, "ignore-not-found", false, "treat a missing pod as deleted")
	return cmd
}
