// Package arch holds tests that enforce podd's architecture: which packages
// may link which (dependencies point inward, libcontainer only in the shim),
// and that every package says its job in a doc comment.
package arch
