// Package verb implements podctl's verbs. Each verb takes a typed options
// struct and a PodService client, does its work and writes to the
// options' streams, so it is testable without cobra or a terminal.
package verb
