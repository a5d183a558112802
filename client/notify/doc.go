// Package notify owns the report of one scheduled run (what it found,
// downloaded and installed, or why it skipped or failed) and its
// transports: mail by SMTP or sendmail, and a JSON POST to a webhook.
//
// It knows nothing of the client: the scheduled run fills a Report, and
// the [notify] table of the configuration arrives as a Config. The JSON
// names of Report are an interface for webhook receivers; keep them.
package notify
