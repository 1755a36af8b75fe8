package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry name podd prints for Docker Hub, as docker and
// the kubelet do; go-containerregistry spells it index.docker.io.
const dockerHub = "docker.io"

// idRef matches what a user may type to name an image by digest or ID:
// "sha256:<hex>" or a bare hex prefix of at least four characters.
var (
	idRef     = regexp.MustCompile(`^sha256:[0-9a-f]{1,64}$`)
	hexPrefix = regexp.MustCompile(`^[0-9a-f]{4,64}$`)
)

// Normalize returns the canonical spelling of an image reference, the one the
// store records: "busybox" becomes "docker.io/library/busybox:latest", a
// missing tag becomes "latest", and a reference with both a tag and a digest
// keeps only the digest (as the kubelet and containerd do).
func Normalize(ref string) (string, error) {
	r, err := parseRef(ref, false)
	if err != nil {
		return "", err
	}
	return refString(r), nil
}

// parseRef parses ref with go-containerregistry's grammar, refusing digest
// and ID forms, which are not names.
func parseRef(ref string, insecure bool) (name.Reference, error) {
	if ref == "" {
		return nil, fmt.Errorf("parse image reference: empty")
	}
	if idRef.MatchString(ref) {
		return nil, fmt.Errorf("parse image reference %q: a digest is not a name", ref)
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return r, nil
}

// repoString is the canonical repository of r: "docker.io/library/busybox".
func repoString(r name.Reference) string {
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + r.Context().RepositoryStr()
}

// refString is the canonical form of r: "<repo>:<tag>" or "<repo>@<digest>".
func refString(r name.Reference) string {
	switch r := r.(type) {
	case name.Digest:
		return repoString(r) + "@" + r.DigestStr()
	case name.Tag:
		return repoString(r) + ":" + r.TagStr()
	}
	return r.Name()
}

// isDigestRef reports whether a canonical reference names content
// ("repo@sha256:...") rather than a tag.
func isDigestRef(ref string) bool {
	return strings.Contains(ref, "@")
}

// refRepo returns the repository part of a canonical reference.
func refRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}
