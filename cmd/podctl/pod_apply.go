package main

import (
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
	"github.com/spf13/cobra"
)

func newApplyCommand(a *app) *cobra.Command {
	opts := verb.ApplyOptions{Streams: a.streams}
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or replace pods from manifests",
		Long: "Create or replace pods from core/v1 Pod manifests (YAML or JSON, several documents per file).\n" +
			"A directory contributes its *.yaml, *.yml and *.json files; \"-\" reads standard input.",
		Example: "  podctl apply -f web.yaml\n  podctl apply -f manifests/\n  cat pod.yaml | podctl apply -f -",
		Args:    cobra.NoArgs,
		RunE:    runVerb(a, &opts, nil, verb.Apply),
	}
	cmd.Flags().StringArrayVarP(&opts.Files, "filename", "f", nil, "manifest file, directory or - (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}
