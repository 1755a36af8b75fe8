package main

import (
	"context"
	"fmt"

	"github.com/podd-dev/podd/cmd/podctl/internal/podclient"
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/spf13/cobra"
)

// app holds what every command shares: streams, global flags and the
// connection to the daemon, opened on first use.
type app struct {
	streams   verb.Streams
	socket    string
	namespace string
	conn      *podclient.Conn
}

// client returns the daemon client, dialling the socket on first use.
func (a *app) client(ctx context.Context) (poddv1.PodServiceClient, error) {
	if a.conn == nil {
		conn, err := podclient.Dial(ctx, a.socket)
		if err != nil {
			return nil, err
		}
		a.conn = conn
	}
	return a.conn, nil
}

// runVerb makes the RunE of a command that runs verb v with opts: parse
// (nil: nothing to read) reads the arguments into opts before any
// dialling, so a usage error never waits on the daemon.
func runVerb[O any](a *app, opts *O, parse func(args []string) error,
	v func(context.Context, poddv1.PodServiceClient, O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if parse != nil {
			if err := parse(args); err != nil {
				return err
			}
		}
		c, err := a.client(cmd.Context())
		if err != nil {
			return err
		}
		return v(cmd.Context(), c, *opts)
	}
}

// podNames is the parse of runVerb for commands on pods named as kubectl
// does ("pods NAME..." or "pod/NAME..."): it fills names and ns.
func (a *app) podNames(names *[]string, ns *string) func(args []string) error {
	return func(args []string) error {
		var err error
		*names, err = verb.ParseResourceArgs(args)
		*ns = a.namespace
		return err
	}
}

func (a *app) close() {
	if a.conn != nil {
		_ = a.conn.Close()
	}
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "podctl",
		Short:         "podctl controls the podd pod runtime",
		Long:          "podctl controls the podd pod runtime: a kubectl-like CLI for the pods of one node.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage", err, c.CommandPath())
	})
	root.PersistentFlags().StringVar(&a.socket, "socket", podclient.SocketDefault(),
		"path of podd's unix socket ($"+podclient.SocketEnv+" overrides the default)")
	root.PersistentFlags().StringVarP(&a.namespace, "namespace", "n", "", "the namespace (default \"default\")")
	root.AddCommand(
		newApplyCommand(a),
		newGetCommand(a),
		newDescribeCommand(a),
		newLogsCommand(a),
		newDeleteCommand(a),
		newExecCommand(a),
		newEventsCommand(a),
		newImageCommand(a),
		newImagesCommand(a),
		newPullCommand(a),
		newRemoveImageCommand(a, "rmi"),
		newTopCommand(a),
		newVersionCommand(a),
		newScaleCommand(a),
		newRolloutCommand(a),
	)
	return root
}
