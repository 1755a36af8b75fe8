package cri

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// PullImage pulls an image with the credentials the request carries (the
// sandbox config is not used: podd pulls the same way for every pod) and
// answers its image ID.
func (s *imageService) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image: an image name is required")
	}
	if h := req.GetImage().GetRuntimeHandler(); h != "" {
		return nil, invalid("runtime handler %q: podd has only the default runtime handler", h)
	}
	auth, err := credentials(req.GetAuth())
	if err != nil {
		return nil, invalid("auth: %v", err)
	}
	img, err := s.cfg.Images.Pull(ctx, ref, auth)
	if err != nil {
		return nil, toStatus(err)
	}
	slog.Info("Image pulled", "image", ref, "id", img.ID, "via", "cri")
	return &runtimeapi.PullImageResponse{ImageRef: img.ID}, nil
}

// credentials translates CRI's AuthConfig as containerd reads it: a user
// name and password, else an identity token, else "auth" (base64
// "user:password"); a server address limits them to that host. No
// credentials at all is nil.
func credentials(a *runtimeapi.AuthConfig) (*image.Credentials, error) {
	if a == nil {
		return nil, nil
	}
	c := &image.Credentials{RegistryToken: a.GetRegistryToken()}
	if addr := a.GetServerAddress(); addr != "" {
		host, err := serverHost(addr)
		if err != nil {
			return nil, err
		}
		c.Host = host
	}
	switch {
	case a.GetUsername() != "":
		c.Username, c.Password = a.GetUsername(), a.GetPassword()
	case a.GetIdentityToken() != "":
		c.IdentityToken = a.GetIdentityToken()
	case a.GetAuth() != "":
		dec, err := base64.StdEncoding.DecodeString(a.GetAuth())
		if err != nil {
			return nil, fmt.Errorf("auth is not base64: %w", err)
		}
		user, pass, ok := strings.Cut(string(dec), ":")
		if !ok {
			return nil, fmt.Errorf("auth does not decode to user:password")
		}
		c.Username, c.Password = user, strings.Trim(pass, "\x00")
	}
	if *c == (image.Credentials{Host: c.Host}) {
		return nil, nil
	}
	return c, nil
}

// serverHost is the host of a server address, written as a host
// ("registry.example.com:5000") or a URL ("https://index.docker.io/v1/").
func serverHost(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server address %q is not a host or URL", addr)
	}
	return u.Host, nil
}
