package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode"

	"github.com/hotfix-project/hotfix/repo"
)

// Outcomes of a scheduled run, as Report.Outcome gives them.
const (
	OutcomeUpToDate   = "up to date" // nothing pending
	OutcomePending    = "pending"    // check_only: fixes found, nothing else done
	OutcomeDownloaded = "downloaded" // download_only: fixes in the cache, waiting for an administrator
	OutcomeInstalled  = "installed"  // every pending fix installed
	OutcomeStopped    = "stopped"    // stopped by a signal between fixes; the rest stay pending
	OutcomeFailed     = "failed"     // an error; see Report.Error
	OutcomePaused     = "paused"     // skipped: hotfix is paused
	OutcomeLocked     = "locked"     // skipped: another run or install holds a lock
)

// Report is the outcome of one scheduled run (hotfix daemon or hotfix
// cron): what it found, downloaded and installed. It is the body of the
// mail and, as JSON, of the webhook POST; keep the JSON names stable.
type Report struct {
	SystemName string      `json:"system_name"`
	Product    string      `json:"product"`
	Base       string      `json:"base,omitempty"`
	Trigger    string      `json:"trigger"` // "daemon", "cron", "cron --now", ...
	Started    time.Time   `json:"started"`
	Finished   time.Time   `json:"finished"`
	Outcome    string      `json:"outcome"`
	Found      []ReportFix `json:"found"`      // pending when the run checked
	New        []string    `json:"new"`        // versions of Found that no earlier reported run found
	Downloaded []string    `json:"downloaded"` // versions now verified in the cache
	Installed  []ReportFix `json:"installed"`
	Error      string      `json:"error,omitempty"`
	Logs       []string    `json:"logs"` // install logs of this run, then the audit log
	Paused     *PauseInfo  `json:"paused,omitempty"`
	LockedBy   string      `json:"locked_by,omitempty"` // the lock error, naming its holder
}

// ReportFix is one fix in a Report, with the bugs it fixes.
type ReportFix struct {
	Version string        `json:"version"`
	Summary string        `json:"summary"`
	Bugs    []repo.BugRef `json:"bugs"`
}

// ReportFixOf converts an index entry.
func ReportFixOf(f repo.IndexFix) ReportFix {
	bugs := f.Bugs
	if bugs == nil {
		bugs = []repo.BugRef{}
	}
	return ReportFix{Version: f.Version.String(), Summary: f.Summary, Bugs: bugs}
}

// Changed reports whether the run changed something or learned something
// new: a fix installed, a fix found that no earlier run reported, or an
// error. This is what mail_report = "on-change" mails.
func (r *Report) Changed() bool {
	return len(r.Installed) > 0 || len(r.New) > 0 || r.Error != ""
}

// ShouldMail applies a mail_report policy (MailAlways, MailOnChange,
// MailOnError; "" means MailOnChange) to a report.
func ShouldMail(policy string, r *Report) bool {
	switch policy {
	case MailAlways:
		return true
	case MailOnError:
		return r.Error != ""
	default:
		return r.Changed()
	}
}

// Subject is the mail subject: "[system] hotfix: installed acme 2.4.1.2, 2.4.1.3".
func (r *Report) Subject() string {
	product := r.Product
	if r.Base != "" {
		product += " " + r.Base
	}
	var what string
	switch {
	case r.Error != "" && len(r.Installed) > 0:
		what = fmt.Sprintf("FAILED after installing %s %s: %s", r.Product, joinFixes(r.Installed), firstLine(r.Error))
	case r.Error != "":
		what = fmt.Sprintf("FAILED (%s): %s", product, firstLine(r.Error))
	case r.Outcome == OutcomeStopped:
		what = fmt.Sprintf("stopped after installing %s %s", r.Product, joinFixes(r.Installed))
	case len(r.Installed) > 0:
		what = fmt.Sprintf("installed %s %s", r.Product, joinFixes(r.Installed))
	case r.Outcome == OutcomeDownloaded:
		what = fmt.Sprintf("downloaded %s %s, ready to install", r.Product, strings.Join(r.Downloaded, ", "))
	case r.Outcome == OutcomePending:
		what = fmt.Sprintf("%s pending for %s", plural(len(r.Found), "fix", "fixes"), product)
	case r.Outcome == OutcomePaused:
		what = "paused, scheduled run skipped"
	case r.Outcome == OutcomeLocked:
		what = "another run holds the lock, scheduled run skipped"
	default:
		what = product + " is up to date"
	}
	s := fmt.Sprintf("[%s] hotfix: %s", r.SystemName, what)
	s = strings.TrimSpace(clean(s))
	return truncate(s, 200)
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// Text is the plain-text mail body.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hotfix scheduled run on %s (%s)\n", r.SystemName, r.Trigger)
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "started %s, finished %s\n", r.Started.Format(time.RFC1123Z), r.Finished.Format(time.RFC1123Z))
	}
	fmt.Fprintf(&b, "product %s", r.Product)
	if r.Base != "" {
		fmt.Fprintf(&b, ", installed base %s", r.Base)
	}
	fmt.Fprintf(&b, "\noutcome: %s\n", r.Outcome)
	if r.Paused != nil {
		fmt.Fprintf(&b, "\n%s\n", (&PausedError{Info: *r.Paused}).Error())
	}
	if r.LockedBy != "" {
		fmt.Fprintf(&b, "\n%s\n", r.LockedBy)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "\nERROR:\n  %s\n", strings.ReplaceAll(r.Error, "\n", "\n  "))
	}
	writeFixes := func(title string, fixes []ReportFix) {
		if len(fixes) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, f := range fixes {
			fmt.Fprintf(&b, "  %-12s %s\n", f.Version, f.Summary)
			for _, bug := range f.Bugs {
				fmt.Fprintf(&b, "  %-12s   %s: %s\n", "", bug.ID, bug.Summary)
			}
		}
	}
	writeFixes("Installed", r.Installed)
	if len(r.Downloaded) > 0 {
		fmt.Fprintf(&b, "\nDownloaded (verified, in the cache): %s\n", strings.Join(r.Downloaded, ", "))
	}
	var pending []ReportFix
	done := map[string]bool{}
	for _, f := range r.Installed {
		done[f.Version] = true
	}
	for _, f := range r.Found {
		if !done[f.Version] {
			pending = append(pending, f)
		}
	}
	title := "Still pending"
	if len(r.Installed) == 0 {
		title = "Found pending"
	}
	if len(r.New) > 0 {
		title += " (new since the last report: " + strings.Join(r.New, ", ") + ")"
	}
	writeFixes(title, pending)
	if len(r.Logs) > 0 {
		fmt.Fprintf(&b, "\nLogs:\n")
		for _, l := range r.Logs {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}

func joinFixes(fs []ReportFix) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Version)
	}
	return strings.Join(s, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return truncate(s, 120)
}

// clean replaces control characters (CR and LF above all: a header must
// stay one header) by spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// NotifyError is a report that could not be sent. A scheduled run whose
// report fails exits 1, whatever the run itself did.
type NotifyError struct{ Err error }

func (e *NotifyError) Error() string { return "report not sent: " + e.Err.Error() }
func (e *NotifyError) Unwrap() error { return e.Err }

// Notifier sends Reports as the [notify] configuration says.
type Notifier struct {
	Cfg Notify
	Log *slog.Logger
	// TLSConfig is used for STARTTLS; nil means the system's roots and the
	// smtp host as server name (SSL_CERT_FILE adds a private CA).
	TLSConfig *tls.Config
	// HTTPClient posts to the webhook; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each delivery (one SMTP session, one sendmail, one
	// POST); 0 means one minute.
	Timeout time.Duration
}

// SendReport sends rep by mail (when mail_to is set and mail_report
// wants it) and to the webhook (every run). Failures are logged and
// returned as a *NotifyError.
func SendReport(ctx context.Context, cfg Notify, rep *Report, log *slog.Logger) error {
	return (&Notifier{Cfg: cfg, Log: log}).Send(ctx, rep)
}

// Send delivers rep; see SendReport.
func (n *Notifier) Send(ctx context.Context, rep *Report) error {
	log := logOrDiscard(n.Log)
	var errs []error
	if len(n.Cfg.MailTo) > 0 && ShouldMail(n.Cfg.MailReport, rep) {
		if err := n.Mail(ctx, rep); err != nil {
			log.Error("report mail not sent", "to", strings.Join(n.Cfg.MailTo, ", "), "err", err)
			errs = append(errs, err)
		} else {
			log.Info("report mailed", "to", strings.Join(n.Cfg.MailTo, ", "), "subject", rep.Subject())
		}
	}
	if n.Cfg.Webhook != "" {
		if err := n.Post(ctx, rep); err != nil {
			log.Error("report not posted to webhook", "url", redactURL(n.Cfg.Webhook), "err", err)
			errs = append(errs, err)
		} else {
			log.Info("report posted to webhook", "url", redactURL(n.Cfg.Webhook))
		}
	}
	if len(errs) > 0 {
		return &NotifyError{Err: errors.Join(errs...)}
	}
	return nil
}

func (n *Notifier) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return time.Minute
}

// Mail sends rep to mail_to by SMTP or sendmail.
func (n *Notifier) Mail(ctx context.Context, rep *Report) error {
	from, err := mail.ParseAddress(n.Cfg.MailFrom)
	if err != nil {
		return fmt.Errorf("mail_from %q: %w", n.Cfg.MailFrom, err)
	}
	var to []*mail.Address
	for _, a := range n.Cfg.MailTo {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return fmt.Errorf("mail_to %q: %w", a, err)
		}
		to = append(to, addr)
	}
	msg := BuildMessage(from, to, rep, time.Now())
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	if n.Cfg.SMTP != "" {
		return n.sendSMTP(ctx, from.Address, to, msg)
	}
	return n.sendmail(ctx, msg)
}

// BuildMessage renders rep as an RFC 5322 message with LF line ends
// (net/smtp turns them into CRLF; sendmail expects LF).
func BuildMessage(from *mail.Address, to []*mail.Address, rep *Report, now time.Time) []byte {
	var b bytes.Buffer
	var rcpt []string
	for _, a := range to {
		rcpt = append(rcpt, a.String())
	}
	domain := "localhost"
	if _, d, ok := strings.Cut(from.Address, "@"); ok && d != "" {
		domain = d
	}
	id := make([]byte, 12)
	rand.Read(id)
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) }
	header("From", from.String())
	header("To", strings.Join(rcpt, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", rep.Subject()))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<hotfix."+hex.EncodeToString(id)+"@"+clean(domain)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-Hotfix-Outcome", clean(rep.Outcome))
	b.WriteString("\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(mailLines(rep.Text())))
	qp.Close()
	// quotedprintable writes CRLF; keep the whole message LF.
	return bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n"))
}

// mailLines turns every line break of s (CRLF, or a lone CR as a script's
// progress output leaves in an error) into LF: mail allows CR only as part
// of a line break, and the report reads the same either way.
func mailLines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// sendSMTP delivers msg over one SMTP session: STARTTLS whenever the
// server offers it, then AUTH PLAIN when smtp_user is set. net/smtp
// refuses to send a password over an unencrypted connection except to
// localhost.
func (n *Notifier) sendSMTP(ctx context.Context, from string, to []*mail.Address, msg []byte) (err error) {
	addr := n.Cfg.SMTP
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", addr, err)
	}
	fail := func(step string, err error) error { return fmt.Errorf("smtp %s: %s: %w", addr, step, err) }
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail("connect", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fail("greeting", err)
	}
	defer c.Close()
	helo, herr := os.Hostname()
	if herr != nil || helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fail("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if n.TLSConfig != nil {
			cfg = n.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if n.Cfg.SMTPUser != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("AUTH", errors.New("the server does not offer authentication, but smtp_user is set"))
		}
		if err := c.Auth(smtp.PlainAuth("", n.Cfg.SMTPUser, n.Cfg.SMTPPassword, host)); err != nil {
			if strings.Contains(err.Error(), "unencrypted") {
				err = fmt.Errorf("%w: the server does not offer STARTTLS, and the password is never sent in clear", err)
			}
			return fail("AUTH as "+n.Cfg.SMTPUser, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fail("MAIL FROM "+from, err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return fail("RCPT TO "+a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("DATA", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted; a failed QUIT loses nothing.
		logOrDiscard(n.Log).Debug("smtp QUIT", "err", err)
	}
	return nil
}

// sendmail hands msg to the sendmail binary, which reads the recipients
// from the headers (-t) and does not treat a lone dot as the end (-oi).
func (n *Notifier) sendmail(ctx context.Context, msg []byte) error {
	bin := n.Cfg.Sendmail
	if bin == "" {
		bin = DefaultSendmail
	}
	cmd := exec.CommandContext(ctx, bin, "-t", "-oi")
	cmd.Stdin = bytes.NewReader(msg)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if s := strings.TrimSpace(out.String()); s != "" {
			return fmt.Errorf("sendmail %s: %w: %s", bin, err, s)
		}
		return fmt.Errorf("sendmail %s: %w", bin, err)
	}
	return nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Post sends rep as JSON to the webhook; any status but 2xx is an error.
func (n *Notifier) Post(ctx context.Context, rep *Report) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", redactURL(n.Cfg.Webhook), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotfix")
	hc := n.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: n.timeout()}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("webhook %s answered %s", redactURL(n.Cfg.Webhook), resp.Status)
		if s := strings.TrimSpace(clean(string(snippet))); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

// redactURL hides a password in a webhook URL, for logs.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.IndexByte(s[i+3:], '@'); j >= 0 && !strings.Contains(s[i+3:i+3+j], "/") {
			return s[:i+3] + "xxxxx@" + s[i+3+j+1:]
		}
	}
	return s
}
