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
	)
	return root
}
