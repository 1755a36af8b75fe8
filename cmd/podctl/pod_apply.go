package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newApplyCommand(a *app) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or replace pods from manifests",
		Long: "Create or replace pods from core/v1 Pod manifests (YAML or JSON, several documents per file).\n" +
			"A directory contributes its *.yaml, *.yml and *.json files; \"-\" reads standard input.",
		Example: "  podctl apply -f web.yaml\n  podctl apply -f manifests/\n  cat pod.yaml | podctl apply -f -",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return verb.Apply(cmd.Context(), c, verb.ApplyOptions{Streams: a.streams, Files: files})
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file, directory or - (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}
