// Package cron decides when the unattended client runs: the cron spec, the
// days of the week it may run on, and the random wait that spreads a fleet
// of servers over time so they do not all hit the repository at once.
//
// Schedules are parsed with github.com/robfig/cron/v3 (the standard
// five-field syntax, descriptors such as @daily, and a leading CRON_TZ= or
// TZ= zone), but only its pure Schedule.Next is used: the clock and the
// randomness are injected, so every decision here is tested without
// waiting. Known behaviour of robfig's Next that this package keeps rather
// than papers over: on the day clocks spring forward, a job in the skipped
// hour (02:30 in Europe/Berlin) does not run that day; on the day they fall
// back, a job in the repeated hour runs twice. Schedule at a time outside
// 01:00–03:59 local, or set CRON_TZ=UTC, to avoid both.
package cron
