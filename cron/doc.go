// Package cron decides when the unattended client runs and does the run:
// the daemon loop (fire times, reload, run now, stop), the one policy of a
// scheduled run shared by "hotfix daemon" and "hotfix cron" (only on the
// days of days_of_week, after a random wait up to random_wait that ends
// with ctx), the run lock, and one scheduled run (check, download,
// install, audit, report).
//
// With [[instance]] tables one run covers the whole tree (tree.go): one
// run lock, each instance checked and downloaded, the tree installed by
// client.Tree (level by level, siblings in parallel), and one report
// whose Instances are each instance's part.
//
// The schedule itself (spec, days of week, random wait) is parsed by
// internal/schedule, the parser configuration loading uses too, so that a
// configuration that loads is one the daemon runs. The clock and the
// randomness are injected, so every decision here is tested without
// waiting.
package cron
