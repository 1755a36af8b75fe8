package verb

import (
	"context"
	"errors"
	"io"
)

// streamEnd turns the error that ended a server stream into the verb's
// result: the server closing it (EOF) or the user interrupting (ctx) is a
// normal end.
func streamEnd(ctx context.Context, err error) error {
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return err
}
