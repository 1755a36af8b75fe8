// Package netns creates network namespaces pinned by bind mount under a
// directory (podd's `<run-root>/netns`), removes such pins idempotently and
// lists them for garbage collection.
package netns
