package main

import (
	"github.com/spf13/cobra"

	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
)

// deploymentArg is the parse of runVerb for commands on one Deployment.
func (a *app) deploymentArg(opts *verb.RolloutOptions) func(args []string) error {
	return func(args []string) error {
		name, err := verb.ParseDeploymentArg(args)
		opts.Name, opts.Namespace, opts.Kind = name, a.namespace, verb.KindDeployment
		return err
	}
}

// rolloutArg is the parse of runVerb for rollout commands on one
// Deployment or DaemonSet.
func (a *app) rolloutArg(opts *verb.RolloutOptions) func(args []string) error {
	return func(args []string) error {
		kind, name, err := verb.ParseRolloutArg(args, verb.KindDeployment, verb.KindDaemonSet)
		opts.Kind, opts.Name, opts.Namespace = kind, name, a.namespace
		return err
	}
}

func newScaleCommand(a *app) *cobra.Command {
	opts := verb.RolloutOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:     "scale deployment/NAME --replicas=COUNT",
		Short:   "Set the number of replicas of a Deployment",
		Example: "  podctl scale deployment/web --replicas=3",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(a, &opts, a.deploymentArg(&opts), verb.Scale),
	}
	cmd.Flags().Int32Var(&opts.Replicas, "replicas", -1, "the new number of replicas (required)")
	return cmd
}

func newRolloutCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout status|history|undo deployment/NAME|daemonset/NAME",
		Short: "Follow, list and undo the rollouts of a Deployment (follow a DaemonSet's)",
	}
	status := verb.RolloutOptions{Streams: a.streams}
	statusCmd := &cobra.Command{
		Use:     "status deployment/NAME|daemonset/NAME",
		Short:   "Wait until the rollout completes (a Deployment's fails when it exceeds its progress deadline)",
		Example: "  podctl rollout status deployment/web --timeout=2m\n  podctl rollout status ds/agent",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(a, &status, a.rolloutArg(&status), verb.RolloutStatus),
	}
	statusCmd.Flags().BoolVarP(&status.Watch, "watch", "w", true, "wait until the rollout ends")
	statusCmd.Flags().DurationVar(&status.Timeout, "timeout", 0, "how long to wait before giving up (0: forever)")
	history := verb.RolloutOptions{Streams: a.streams}
	historyCmd := &cobra.Command{
		Use:   "history deployment/NAME",
		Short: "List the Deployment's revisions",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(a, &history, a.rolloutArg(&history), verb.RolloutHistory),
	}
	undo := verb.RolloutOptions{Streams: a.streams}
	undoCmd := &cobra.Command{
		Use:     "undo deployment/NAME [--to-revision=N]",
		Short:   "Roll the Deployment back to its previous revision (or to N)",
		Example: "  podctl rollout undo deployment/web\n  podctl rollout undo deployment/web --to-revision=1",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(a, &undo, a.rolloutArg(&undo), verb.RolloutUndo),
	}
	undoCmd.Flags().Int64Var(&undo.ToRevision, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	cmd.AddCommand(statusCmd, historyCmd, undoCmd)
	return cmd
}
