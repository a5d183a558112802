package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hotfix-project/hotfix/internal/lockfile"
)

// s3Lock is the record in a destination's lock object.
type s3Lock struct {
	Owner string    `json:"owner"`
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// Lock creates the lock object PREFIX/.hotfix-publish.lock with
// If-None-Match: *, so of two publishes exactly one creates it; the
// other is refused at once (it does not wait), naming the holder, host
// and time. Object storage cannot tell that a holder died, so a lock
// left by a publish on this host whose process is gone is taken over;
// one from another host needs force, which deletes it first.
func (d *S3Destination) Lock(ctx context.Context, owner string, force bool) (func(), error) {
	host, _ := os.Hostname()
	rec := s3Lock{Owner: owner, Host: host, PID: os.Getpid(), Since: time.Now().UTC().Truncate(time.Second)}
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	key := d.key(publishLockName)
	if force {
		if err := d.Delete(ctx, publishLockName); err != nil {
			return nil, fmt.Errorf("remove the lock %s: %w", key, err)
		}
	}
	for attempt := 0; ; attempt++ {
		err := d.createLock(ctx, key, body)
		if err == nil {
			break
		}
		if !errors.Is(err, errObjectExists) || attempt > 0 {
			return nil, err
		}
		held, err := d.readLock(ctx, key)
		if err != nil {
			return nil, err
		}
		if held == nil || !(held.Host == host && processGone(held.PID)) {
			return nil, d.lockedError(held)
		}
		d.log.Warn("taking over the lock of a publish that no longer runs", "lock", d.String()+"/"+publishLockName, "pid", held.PID, "since", held.Since)
		if err := d.Delete(ctx, publishLockName); err != nil {
			return nil, err
		}
	}
	return func() {
		// The publish's own context may be done by now; the lock must
		// still go.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Delete(ctx, publishLockName); err != nil {
			d.log.Warn("could not remove the publish lock", "lock", key, "err", err)
		}
	}, nil
}

func (d *S3Destination) createLock(ctx context.Context, key string, body []byte) error {
	rctx, cancel := d.request(ctx)
	defer cancel()
	_, err := d.client.PutObject(rctx, &s3.PutObjectInput{
		Bucket: aws.String(d.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), CacheControl: aws.String("no-store"),
		IfNoneMatch: aws.String("*"),
	})
	switch httpStatus(err) {
	case http.StatusPreconditionFailed, http.StatusConflict:
		return errObjectExists
	case http.StatusNotImplemented:
		// Without conditional writes, a HEAD first: two publishes
		// starting in the same instant could both pass it.
		if r, serr := d.Stat(ctx, publishLockName); serr != nil || r != nil {
			if serr != nil {
				return serr
			}
			return errObjectExists
		}
		_, err = d.client.PutObject(rctx, &s3.PutObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	}
	if err != nil {
		return fmt.Errorf("create the lock %s: %w", key, explain(err, d.bucket))
	}
	return nil
}

// readLock returns the holder's record, nil when it is unreadable or
// already gone.
func (d *S3Destination) readLock(ctx context.Context, key string) (*s3Lock, error) {
	rctx, cancel := d.request(ctx)
	defer cancel()
	out, err := d.client.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	if httpStatus(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, explain(err, d.bucket)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	var rec s3Lock
	if json.Unmarshal(data, &rec) != nil {
		return nil, nil
	}
	return &rec, nil
}

func (d *S3Destination) lockedError(held *s3Lock) error {
	e := &lockfile.LockedError{Path: d.String() + "/" + publishLockName}
	if held != nil {
		e.Holder = &lockfile.Holder{PID: held.PID, Since: held.Since, Command: held.Owner + " on " + held.Host}
	}
	return e
}

// processGone reports whether no process pid runs on this host.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
