package notify

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// sampleReport is a run that installed two fixes.
func sampleReport() *Report {
	start := time.Date(2025, 3, 4, 4, 2, 0, 0, time.UTC)
	return &Report{
		SystemName: "shop-prod-1", Product: "acme", Base: "2.4.1", Trigger: "daemon",
		Started: start, Finished: start.Add(3 * time.Minute), Outcome: OutcomeInstalled,
		Found: []ReportFix{
			{Version: "2.4.1.2", Summary: "Fix rounding of taxes", Bugs: []repo.BugRef{{ID: "ACME-101", Summary: "VAT rounded down"}}},
			{Version: "2.4.1.3", Summary: "Close the open redirect", Bugs: []repo.BugRef{{ID: "ACME-117", Summary: "Open redirect in login"}}},
		},
		New:        []string{"2.4.1.3"},
		Downloaded: []string{"2.4.1.2", "2.4.1.3"},
		Installed: []ReportFix{
			{Version: "2.4.1.2", Summary: "Fix rounding of taxes", Bugs: []repo.BugRef{{ID: "ACME-101", Summary: "VAT rounded down"}}},
			{Version: "2.4.1.3", Summary: "Close the open redirect", Bugs: []repo.BugRef{{ID: "ACME-117", Summary: "Open redirect in login"}}},
		},
		Logs: []string{"/var/log/hotfix/install-acme-2.4.1.2.log", "/var/log/hotfix/install-acme-2.4.1.3.log", "/var/log/hotfix/audit.log"},
	}
}

// parseNotifyMail parses a received message and decodes its body.
func parseNotifyMail(t *testing.T, data []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("received mail does not parse: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	if te := msg.Header.Get("Content-Transfer-Encoding"); te != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", te)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return msg, subject, string(body)
}

func TestNotifyReportSubject(t *testing.T) {
	base := sampleReport
	tests := []struct {
		name string
		edit func(r *Report)
		want string
	}{
		{"installed", func(r *Report) {}, "[shop-prod-1] hotfix: installed acme 2.4.1.2, 2.4.1.3"},
		{"failed", func(r *Report) {
			r.Installed, r.Outcome, r.Error = nil, OutcomeFailed, "fix 2.4.1.2: test: not enough disk space in /opt\nmore"
		}, "[shop-prod-1] hotfix: FAILED (acme 2.4.1): fix 2.4.1.2: test: not enough disk space in /opt"},
		{"failed after some", func(r *Report) {
			r.Installed, r.Outcome, r.Error = r.Installed[:1], OutcomeFailed, "fix 2.4.1.3: apply: boom"
		}, "[shop-prod-1] hotfix: FAILED after installing acme 2.4.1.2: fix 2.4.1.3: apply: boom"},
		{"downloaded", func(r *Report) { r.Installed, r.Outcome = nil, OutcomeDownloaded },
			"[shop-prod-1] hotfix: downloaded acme 2.4.1.2, 2.4.1.3, ready to install"},
		{"pending", func(r *Report) { r.Installed, r.Downloaded, r.Outcome = nil, nil, OutcomePending },
			"[shop-prod-1] hotfix: 2 fixes pending for acme 2.4.1"},
		{"up to date", func(r *Report) { r.Installed, r.Found, r.Outcome = nil, nil, OutcomeUpToDate },
			"[shop-prod-1] hotfix: acme 2.4.1 is up to date"},
		{"paused", func(r *Report) { r.Installed, r.Outcome = nil, OutcomePaused },
			"[shop-prod-1] hotfix: paused, scheduled run skipped"},
		{"instances blocked", func(r *Report) {
			r.Installed, r.Outcome, r.Waiting = nil, OutcomeBlocked, "instance live: blocked: parent ref is at 2.4.1.2\ninstance test: ..."
		}, "[shop-prod-1] hotfix: instance live: blocked: parent ref is at 2.4.1.2"},
		{"instances waiting", func(r *Report) {
			r.Installed, r.Outcome, r.Waiting = nil, OutcomeWaiting, "instance ref: waiting for the primary (primary web01 at 2.4.1.2)"
		}, "[shop-prod-1] hotfix: instance ref: waiting for the primary (primary web01 at 2.4.1.2)"},
		{"header injection", func(r *Report) { r.SystemName = "web\r\nBcc: evil@example.com" },
			"[web  Bcc: evil@example.com] hotfix: installed acme 2.4.1.2, 2.4.1.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.edit(r)
			if got := r.Subject(); got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotifyShouldMail(t *testing.T) {
	quiet := &Report{Outcome: OutcomeUpToDate}
	samePending := &Report{Outcome: OutcomePending, Found: []ReportFix{{Version: "2.4.1.1"}}}
	newFound := &Report{Outcome: OutcomePending, Found: []ReportFix{{Version: "2.4.1.1"}}, New: []string{"2.4.1.1"}}
	installed := &Report{Outcome: OutcomeInstalled, Installed: []ReportFix{{Version: "2.4.1.1"}}}
	failed := &Report{Outcome: OutcomeFailed, Error: "boom"}
	paused := &Report{Outcome: OutcomePaused}
	tests := []struct {
		policy string
		rep    *Report
		want   bool
	}{
		{MailAlways, quiet, true}, {MailAlways, paused, true},
		{MailOnChange, quiet, false}, {MailOnChange, samePending, false}, {MailOnChange, paused, false},
		{MailOnChange, newFound, true}, {MailOnChange, installed, true}, {MailOnChange, failed, true},
		{"", quiet, false}, {"", installed, true},
		{MailOnError, installed, false}, {MailOnError, newFound, false}, {MailOnError, failed, true},
	}
	for _, tt := range tests {
		t.Run(tt.policy+"/"+tt.rep.Outcome+fmt.Sprint(len(tt.rep.New)), func(t *testing.T) {
			if got := ShouldMail(tt.policy, tt.rep); got != tt.want {
				t.Errorf("ShouldMail(%q, %+v) = %v, want %v", tt.policy, tt.rep, got, tt.want)
			}
		})
	}
}

func TestNotifySMTP(t *testing.T) {
	serverTLS, pool, _ := notifyCert(t)
	tests := []struct {
		name     string
		server   notifySMTP
		user     string
		password string
		wantTLS  bool
	}{
		{name: "plain", server: notifySMTP{}},
		{name: "starttls offered", server: notifySMTP{TLS: serverTLS}, wantTLS: true},
		{name: "starttls and auth", server: notifySMTP{TLS: serverTLS, User: "hotfix", Password: "s3cret"},
			user: "hotfix", password: "s3cret", wantTLS: true},
		{name: "auth on loopback without tls", server: notifySMTP{User: "hotfix", Password: "s3cret"},
			user: "hotfix", password: "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := tt.server
			srv := startNotifySMTP(t, &server)
			n := &Notifier{
				Cfg: Config{MailTo: []string{"ops@example.com", "Dev Team <dev@example.com>"}, MailFrom: "hotfix@shop-prod-1.example.com",
					SMTP: srv.Addr, SMTPUser: tt.user, SMTPPassword: tt.password, MailReport: MailOnChange},
				TLSConfig: &tls.Config{RootCAs: pool},
				Timeout:   5 * time.Second,
			}
			if err := n.Send(context.Background(), sampleReport()); err != nil {
				t.Fatal(err)
			}
			got := srv.mails()
			if len(got) != 1 {
				t.Fatalf("server received %d mails, want 1", len(got))
			}
			m := got[0]
			if m.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", m.TLS, tt.wantTLS)
			}
			if m.AuthUser != tt.user {
				t.Errorf("authenticated as %q, want %q", m.AuthUser, tt.user)
			}
			if m.From != "hotfix@shop-prod-1.example.com" || strings.Join(m.To, ",") != "ops@example.com,dev@example.com" {
				t.Errorf("envelope from %q to %q", m.From, m.To)
			}
			msg, subject, body := parseNotifyMail(t, m.Data)
			if want := "[shop-prod-1] hotfix: installed acme 2.4.1.2, 2.4.1.3"; subject != want {
				t.Errorf("subject %q, want %q", subject, want)
			}
			if to := msg.Header.Get("To"); !strings.Contains(to, "ops@example.com") || !strings.Contains(to, `"Dev Team" <dev@example.com>`) {
				t.Errorf("To: %q", to)
			}
			if _, err := msg.Header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			for _, want := range []string{"Installed:", "2.4.1.2", "Fix rounding of taxes", "ACME-101: VAT rounded down",
				"ACME-117: Open redirect in login", "/var/log/hotfix/install-acme-2.4.1.3.log", "/var/log/hotfix/audit.log", "outcome: installed"} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestNotifySMTPErrors(t *testing.T) {
	serverTLS, pool, _ := notifyCert(t)
	tests := []struct {
		name   string
		server notifySMTP
		cfg    func(n *Notifier)
		want   string
	}{
		{"wrong password", notifySMTP{TLS: serverTLS, User: "hotfix", Password: "right"},
			func(n *Notifier) { n.Cfg.SMTPUser, n.Cfg.SMTPPassword = "hotfix", "wrong" }, "535 \"5.7.8 authentication credentials invalid"},
		{"auth not offered", notifySMTP{},
			func(n *Notifier) { n.Cfg.SMTPUser, n.Cfg.SMTPPassword = "hotfix", "pw" }, "does not offer authentication"},
		{"untrusted certificate", notifySMTP{TLS: serverTLS},
			func(n *Notifier) { n.TLSConfig = nil }, "STARTTLS"},
		{"recipient refused", notifySMTP{RejectRcpt: "ops@example.com"},
			func(n *Notifier) {}, "RCPT TO ops@example.com: 550 \"5.1.1 no such user"},
		{"nobody listening", notifySMTP{},
			func(n *Notifier) { n.Cfg.SMTP = "127.0.0.1:1" }, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := tt.server
			srv := startNotifySMTP(t, &server)
			n := &Notifier{
				Cfg:       Config{MailTo: []string{"ops@example.com"}, MailFrom: "hotfix@example.com", SMTP: srv.Addr, MailReport: MailAlways},
				TLSConfig: &tls.Config{RootCAs: pool},
				Timeout:   5 * time.Second,
			}
			tt.cfg(n)
			err := n.Send(context.Background(), sampleReport())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			var ne *SendError
			if !errors.As(err, &ne) {
				t.Errorf("error %T is not a *SendError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "smtp ") {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			if len(srv.mails()) != 0 {
				t.Errorf("a mail was delivered despite the error")
			}
		})
	}
}

func TestNotifyPolicySkipsMail(t *testing.T) {
	srv := startNotifySMTP(t, &notifySMTP{})
	n := &Notifier{Cfg: Config{MailTo: []string{"ops@example.com"}, MailFrom: "hotfix@example.com", SMTP: srv.Addr, MailReport: MailOnChange}}
	if err := n.Send(context.Background(), &Report{SystemName: "x", Product: "acme", Outcome: OutcomeUpToDate}); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.mails()); got != 0 {
		t.Fatalf("on-change mailed an unchanged run (%d mails)", got)
	}
}

// fakeSendmail writes a sendmail stand-in that stores its arguments and
// stdin, or fails with a message when fail is set.
func fakeSendmail(t *testing.T, fail string) (bin, argsFile, msgFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile, msgFile = filepath.Join(dir, "args"), filepath.Join(dir, "msg")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %q\ncat > %q\n", argsFile, msgFile)
	if fail != "" {
		script += fmt.Sprintf("echo %q >&2\nexit 75\n", fail)
	}
	bin = filepath.Join(dir, "sendmail")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile, msgFile
}

func TestNotifySendmail(t *testing.T) {
	bin, argsFile, msgFile := fakeSendmail(t, "")
	n := &Notifier{Cfg: Config{MailTo: []string{"ops@example.com"}, MailFrom: "hotfix@example.com", Sendmail: bin, MailReport: MailAlways}}
	if err := n.Send(context.Background(), sampleReport()); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(argsFile)
	if strings.TrimSpace(string(args)) != "-t -oi" {
		t.Errorf("sendmail called with %q, want -t -oi", args)
	}
	data, _ := os.ReadFile(msgFile)
	if strings.Contains(string(data), "\r") {
		t.Errorf("message for sendmail has CR line ends")
	}
	msg, subject, body := parseNotifyMail(t, data)
	if msg.Header.Get("To") != "<ops@example.com>" {
		t.Errorf("To: %q", msg.Header.Get("To"))
	}
	if !strings.HasPrefix(subject, "[shop-prod-1] hotfix: installed") || !strings.Contains(body, "ACME-117") {
		t.Errorf("subject %q body %q", subject, body)
	}

	t.Run("failure", func(t *testing.T) {
		bin, _, _ := fakeSendmail(t, "sendmail: cannot connect to relay")
		n := &Notifier{Cfg: Config{MailTo: []string{"ops@example.com"}, MailFrom: "hotfix@example.com", Sendmail: bin, MailReport: MailAlways}}
		err := n.Send(context.Background(), sampleReport())
		if err == nil || !strings.Contains(err.Error(), "cannot connect to relay") || !strings.Contains(err.Error(), "exit status 75") {
			t.Fatalf("error %v does not carry sendmail's message and status", err)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		n := &Notifier{Cfg: Config{MailTo: []string{"ops@example.com"}, MailFrom: "hotfix@example.com", Sendmail: "/nonexistent/sendmail", MailReport: MailAlways}}
		err := n.Send(context.Background(), sampleReport())
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/sendmail") {
			t.Fatalf("error %v does not name the binary", err)
		}
	})
}

func TestNotifyWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []Report
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var rep Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got, ctype = append(got, rep), r.Header.Get("Content-Type")
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	// The webhook hears every run, even one that is not mailed.
	n := &Notifier{Cfg: Config{Webhook: srv.URL + "/hook", MailReport: MailOnError}}
	if err := n.Send(context.Background(), sampleReport()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || ctype != "application/json" {
		t.Fatalf("webhook received %d reports (Content-Type %q)", len(got), ctype)
	}
	r := got[0]
	if r.SystemName != "shop-prod-1" || r.Outcome != OutcomeInstalled || len(r.Installed) != 2 ||
		r.Installed[1].Bugs[0].ID != "ACME-117" || len(r.Logs) != 3 || r.New[0] != "2.4.1.3" {
		t.Errorf("webhook report %+v", r)
	}

	// The JSON names are an interface: pin them.
	raw, _ := json.Marshal(sampleReport())
	var keys map[string]any
	json.Unmarshal(raw, &keys)
	for _, k := range []string{"system_name", "product", "base", "trigger", "started", "finished", "outcome", "found", "new", "downloaded", "installed", "logs"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, raw)
		}
	}
}

func TestNotifyWebhookErrors(t *testing.T) {
	slow := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, "database down", http.StatusInternalServerError)
		case "/302":
			w.WriteHeader(http.StatusNotModified)
		case "/slow":
			select {
			case <-slow:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(slow) // before srv.Close, which waits for the handlers
	tests := []struct{ path, want string }{
		{"/500", "answered 500 Internal Server Error: database down"},
		{"/302", "answered 304 Not Modified"},
		{"/slow", "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			n := &Notifier{Cfg: Config{Webhook: srv.URL + tt.path}, Timeout: 300 * time.Millisecond}
			start := time.Now()
			err := n.Send(context.Background(), sampleReport())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v despite the timeout", time.Since(start))
			}
		})
	}
	t.Run("both fail, both named", func(t *testing.T) {
		n := &Notifier{Cfg: Config{Webhook: srv.URL + "/500", MailTo: []string{"ops@example.com"}, MailFrom: "h@example.com",
			Sendmail: "/nonexistent/sendmail", MailReport: MailAlways}}
		err := n.Send(context.Background(), sampleReport())
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/sendmail") || !strings.Contains(err.Error(), "database down") {
			t.Fatalf("error %v does not name both failures", err)
		}
	})
}

func TestNotifyRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@hooks.example.com/x": "https://xxxxx@hooks.example.com/x",
		"https://hooks.example.com/a@b":       "https://hooks.example.com/a@b",
		"http://h/x":                          "http://h/x",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzNotifyMessage: whatever the names and summaries hold, the message
// parses, keeps exactly its own headers, the subject decodes to
// Report.Subject() and the body to Report.Text() with LF line breaks.
func FuzzNotifyMessage(f *testing.F) {
	f.Add("shop-prod-1", "Fix rounding", "ACME-1", "boom")
	f.Add("web\r\nBcc: evil@example.com", "line\n.\nnext", "\x00", "é ü 漢字")
	f.Add("", "=?utf-8?q?x?=", "", "\r\n\r\nbody")
	f.Fuzz(func(t *testing.T, system, summary, bug, errText string) {
		r := sampleReport()
		r.SystemName, r.Installed[0].Summary, r.Installed[0].Bugs[0].ID, r.Error = system, summary, bug, errText
		from, _ := mail.ParseAddress("hotfix@example.com")
		to, _ := mail.ParseAddress("ops@example.com")
		data := BuildMessage(from, []*mail.Address{to}, r, time.Unix(0, 0))
		msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(data))))
		if err != nil {
			t.Fatalf("message does not parse: %v\n%q", err, data)
		}
		if len(msg.Header) != 10 {
			t.Fatalf("message has %d headers, want 10: %v", len(msg.Header), msg.Header)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || subject != r.Subject() {
			t.Fatalf("subject %q (%v), want %q", subject, err, r.Subject())
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("body: %v", err)
		}
		// Every line break (CRLF, lone CR, LF) reads as LF in the mail.
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(r.Text())
		if string(body) != want {
			t.Fatalf("body does not round-trip:\n got %q\nwant %q", body, want)
		}
		if strings.Contains(string(body), "\r") {
			t.Fatalf("body holds a CR outside a line break: %q", body)
		}
	})
}

// TestNotifyTextInstances: the report of a run over instances has one
// line per instance, parents first, with what stopped it beneath.
func TestNotifyTextInstances(t *testing.T) {
	r := sampleReport()
	r.State = nil
	r.Instances = []*Report{
		{Instance: "ref", Outcome: OutcomeInstalled, Installed: r.Installed, State: &State{Level: "2.4.1.3"}},
		{Instance: "live", Parent: "ref", Outcome: OutcomeFailed, Installed: r.Installed[:1], Error: "fix 2.4.1.3: script 10-migrate.sh: exit 3"},
		{Instance: "test", Parent: "live", Outcome: OutcomeBlocked, Waiting: "blocked: parent live failed, so its subtree waits for the next run"},
		{Instance: "stage", Parent: "ref", Outcome: OutcomePaused, Paused: &Pause{By: "root", Reason: "audit"}},
	}
	want := "\nInstances:\n" +
		"  ref: installed 2.4.1.2, 2.4.1.3, at 2.4.1.3\n" +
		"  live (parent ref): installed 2.4.1.2, then failed\n" +
		"    fix 2.4.1.3: script 10-migrate.sh: exit 3\n" +
		"  test (parent live): blocked\n" +
		"    blocked: parent live failed, so its subtree waits for the next run\n" +
		"  stage (parent ref): paused\n" +
		"    hotfix is paused by root"
	if got := r.Text(); !strings.Contains(got, want) {
		t.Errorf("text, want\n%s\ngot:\n%s", want, got)
	}
}
