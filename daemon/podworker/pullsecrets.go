package podworker

import (
	"fmt"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/image"
)

// pullCredentials resolves the pod's imagePullSecrets for image ref: the
// first kubernetes.io/dockerconfigjson Secret, in the pod's order, with
// credentials for ref's registry gives them (bound to that host). Secrets
// that do not exist are a warning event and the pull goes on without them,
// as the kubelet does. Nothing of a secret's content reaches a log or an
// event.
func (w *Worker) pullCredentials(ref, fp string) *image.Credentials {
	if len(w.pod.Spec.ImagePullSecrets) == 0 {
		return nil
	}
	objs := w.objects()
	var missing []string
	var found *image.Credentials
	for _, r := range w.pod.Spec.ImagePullSecrets {
		var s *corev1.Secret
		ok := false
		if objs != nil {
			s, ok = objs.Secret(r.Name)
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s/%s", w.pod.Namespace, r.Name))
			continue
		}
		if found != nil || s.Type != corev1.SecretTypeDockerConfigJson {
			continue
		}
		c, ok, err := image.DockerConfigCredentials(s.Data[corev1.DockerConfigJsonKey], ref)
		if err != nil {
			slog.Warn("Image pull secret unusable", "pod", w.key, "uid", w.uid, "secret", r.Name, "err", err)
			continue
		}
		if ok {
			found = c
		}
	}
	if len(missing) > 0 {
		w.event(corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret", fp, fmt.Sprintf(
			"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", strings.Join(missing, ", ")))
	}
	return found
}
