// Package txn owns one fix's transaction on the product's install root:
// the journal (what the fix will touch and how to undo it), the backups of
// what it replaces or deletes, putting each file in place atomically, and
// undoing all of it — after a failure, by rollback, or after a crash.
//
// The order is the safety: Begin writes the journal before anything is
// copied; BackUp makes every backup durable before the journal's phase
// allows the root to change; Apply changes the root and makes it durable;
// the caller then records the fix (its commit point, state.json), and
// Commit keeps the backups as the fix's rollback record. Whatever a crash
// interrupts, Recover finds the journal and restores or finishes.
//
// Every path under the root (and under the backups and the staging
// directory) goes through internal/beneath, which never follows a link:
// a link inside the root, planted before the plan or swapped in later,
// stops the step that meets it instead of redirecting a write, a delete
// or a read outside the root. The plan and the preflight refuse what the
// apply could not do (links, unsafe modes, immutable, append-only or
// mounted files, directories that refuse new names), and Restore leaves
// alone a file still exactly as backed up, so a failure on such a file
// never leaves a journal that cannot be finished.
//
// txn knows nothing of the client's state or configuration: the caller
// says, through small funcs, whether a fix is recorded and how to forget
// it.
package txn
