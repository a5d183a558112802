package notify

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
)

// SendError is a report that could not be sent. A scheduled run whose
// report fails exits 1, whatever the run itself did.
type SendError struct{ Err error }

func (e *SendError) Error() string { return "report not sent: " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Notifier sends Reports as the [notify] configuration says.
type Notifier struct {
	Cfg Config
	Log *slog.Logger
	// Now dates the mail; nil means time.Now.
	Now func() time.Time
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
// returned as a *SendError.
func SendReport(ctx context.Context, cfg Config, rep *Report, log *slog.Logger) error {
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
		return &SendError{Err: errors.Join(errs...)}
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
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	msg := BuildMessage(from, to, rep, now())
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
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
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

func logOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
