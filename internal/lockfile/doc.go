// Package lockfile provides the advisory locks that keep hotfix runs apart:
// run.lock (one scheduled run at a time, whether started by the daemon, cron
// or a person) and transaction.lock (one install or rollback at a time).
//
// The locks are flock(2) locks via github.com/gofrs/flock, modelled on Go's
// cmd/go/internal/lockedfile and restic's lock handling. flock has the
// properties a crash-safe updater needs: the kernel drops the lock the moment
// its holder dies, even by SIGKILL, so there are no stale locks to detect or
// break, and no lock file ever needs to be deleted. Lock files are never
// removed: a process blocked on the old inode and a new process creating a
// fresh file at the same path would otherwise both believe they hold it.
//
// A flock belongs to an open file description, not to a process, so two
// acquisitions of the same path within one process exclude each other just
// as two processes do. Keep lock directories on local disk (/run), where flock
// is reliable; over NFS it is emulated with fcntl locks with other semantics.
//
// After acquiring, the holder writes a small JSON record (pid, start time,
// command) into the file so that a refused caller and `hotfix status` can say
// who holds it. The record is advisory: the lock itself is the flock.
package lockfile
