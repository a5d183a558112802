package notify

// DefaultSendmail is the sendmail binary used when neither smtp nor
// sendmail is configured.
const DefaultSendmail = "/usr/sbin/sendmail"

// mail_report values: when a run's report is mailed (the webhook hears
// every run).
const (
	MailAlways   = "always"
	MailOnChange = "on-change"
	MailOnError  = "on-error"
)

// Config is the [notify] table of hotfix.toml: where the reports of
// scheduled runs go. The client's configuration loader fills and checks
// it; this package only reads it.
type Config struct {
	MailTo       []string `toml:"mail_to"`       // empty: no mail
	MailFrom     string   `toml:"mail_from"`     // default hotfix@<hostname>
	SystemName   string   `toml:"system_name"`   // names this server in reports; default the hostname
	SMTP         string   `toml:"smtp"`          // host:port; when set, mail goes by SMTP
	SMTPUser     string   `toml:"smtp_user"`     // SMTP AUTH user, needs SMTP
	SMTPPassword string   `toml:"smtp_password"` // SMTP AUTH password, needs SMTPUser
	Sendmail     string   `toml:"sendmail"`      // sendmail binary, used when SMTP is ""; default DefaultSendmail
	Webhook      string   `toml:"webhook"`       // http(s) URL that receives the report as JSON
	MailReport   string   `toml:"mail_report"`   // MailAlways, MailOnChange or MailOnError
	// MetricsFile is rewritten by every run, check and status with the
	// metrics of the installation (WriteMetrics); "" means off.
	MetricsFile string `toml:"metrics_file"`
}
