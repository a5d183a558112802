// Package schedule is the one parser of the [schedule] settings: the cron
// spec, days_of_week and random_wait. Configuration loading (client) and
// the daemon (cron) both build their schedule with New, so a setting one of
// them accepts the other cannot refuse. It lives under internal because
// client may not import cron; what to do with a schedule (the daemon loop,
// the random wait, the day filter of one run) belongs to cron.
//
// What is valid, and why:
//   - A spec is five fields "minute hour day-of-month month day-of-week" or
//     a descriptor (@yearly, @monthly, @weekly, @daily, @midnight, @hourly,
//     @every DURATION), as github.com/robfig/cron/v3's ParseStandard reads
//     them; six fields (seconds) and @reboot are not.
//   - A zone prefix "CRON_TZ=Area/City " or "TZ=Area/City " must name a
//     zone and be followed by a space and the schedule: robfig panics on
//     "TZ=UTC" and silently reads an empty zone as UTC.
//   - The spec must fire at least twice within five years and not more
//     often than once a minute (@every 30s is refused; @every 1m is not).
//   - days_of_week is distinct digits 0-6, Sunday = 0, and the spec must
//     fire on one of those days within five years.
//   - random_wait is not negative.
//
// @every is allowed with days_of_week and random_wait: its fire times count
// from the daemon's start, days_of_week filters them like any other, and a
// random wait longer than the interval makes the daemon skip fire times
// while the previous run (with its wait) is still going. Days are counted
// in the spec's zone when it names one (for @every too), otherwise in the
// zone of the time asked about.
//
// Only robfig's pure Schedule.Next is used, never its scheduler. Known
// behaviour of robfig's Next kept rather than papered over: on the day
// clocks spring forward, a job in the skipped hour (02:30 in Europe/Berlin)
// does not run that day; on the day they fall back, a job in the repeated
// hour runs twice. Schedule outside 01:00–03:59 local, or set CRON_TZ=UTC,
// to avoid both.
package schedule
