// Package image is podd's image store: it imports docker-archive and OCI
// layout images, pulls from registries, keeps blobs by digest in an OCI image
// layout with a small refs file of names, and unpacks each layer once, by
// diffID, into a directory that overlayfs can use as a lower layer.
package image
