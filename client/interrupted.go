package client

import (
	"errors"
	"fmt"
	"time"
)

// ErrInterrupted means a transaction a crash interrupted is still in the
// state directory and the command asked for would have to recover it
// first, which it may not (a dry run changes nothing); see
// InterruptedError.
var ErrInterrupted = errors.New("interrupted transaction")

// InterruptedError refuses a dry run while a crash has left a
// transaction half done: the root may hold part of a fix, so testing
// against it would say nothing, and recovering would change the root.
type InterruptedError struct {
	Interrupted StatusInterrupted
	Dir         string
}

func (e *InterruptedError) Error() string {
	in := e.Interrupted
	return fmt.Sprintf("%s: %s stopped at step %s on %s and is still in %s; a dry run changes nothing, so it neither recovers it nor tests against a root that may hold part of a fix: run \"hotfix recover\", which will %s, then the dry run again",
		ErrInterrupted, in.What(), in.Step, in.Since.UTC().Format(time.RFC3339), e.Dir, in.Recover)
}

// Is makes errors.Is(err, ErrInterrupted) hold.
func (e *InterruptedError) Is(target error) bool { return target == ErrInterrupted }

// refuseInterrupted returns an *InterruptedError when a transaction is
// interrupted; it changes nothing. st decides what recover would do.
func (c *Client) refuseInterrupted(st *State) error {
	in, err := c.interrupted(st)
	if err != nil || in == nil {
		return err
	}
	return &InterruptedError{Interrupted: *in, Dir: in.dir}
}
