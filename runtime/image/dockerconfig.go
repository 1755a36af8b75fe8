package image

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// dockerConfig is the content of a kubernetes.io/dockerconfigjson Secret's
// .dockerconfigjson key (a docker config.json).
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// DockerConfigCredentials returns the credentials that data, a docker
// config.json, holds for the registry of image ref, bound to that host;
// ok is false when it has none for it. A key of `auths` matches by host
// (a scheme and a path are ignored, Docker Hub's names are one registry),
// as the kubelet's keyring does for exact hosts. Errors never quote data.
func DockerConfigCredentials(data []byte, ref string) (_ *Credentials, ok bool, _ error) {
	r, err := parseRef(ref, false)
	if err != nil {
		return nil, false, err
	}
	host := canonicalHost(r.Context().RegistryStr())
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, false, errors.New("not a docker config.json")
	}
	for key, a := range cfg.Auths {
		if canonicalHost(configHost(key)) != host {
			continue
		}
		c := &Credentials{Host: r.Context().RegistryStr(), Username: a.Username, Password: a.Password,
			IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, false, fmt.Errorf("auths[%q].auth: not base64", key)
			}
			user, pass, found := strings.Cut(string(raw), ":")
			if !found {
				return nil, false, fmt.Errorf("auths[%q].auth: not user:password", key)
			}
			c.Username, c.Password = user, pass
		}
		return c, true, nil
	}
	return nil, false, nil
}

// configHost is the registry host of an `auths` key: "https://index.docker.io/v1/"
// is "index.docker.io", "registry:5000/path" is "registry:5000".
func configHost(key string) string {
	key = strings.ToLower(key)
	if i := strings.Index(key, "://"); i >= 0 {
		key = key[i+3:]
	}
	key, _, _ = strings.Cut(key, "/")
	return key
}
