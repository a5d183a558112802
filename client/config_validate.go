package client

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/schedule"
	"github.com/hotfix-project/hotfix/repo"
)

// validator collects every problem of a decoded file.
type validator struct {
	path  string
	lines map[string]int
	errs  []error
}

func (v *validator) fail(key, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Path: v.path, Line: v.lines[key], Key: key, Err: fmt.Errorf(format, args...)})
}

func (v *validator) failErr(key string, err error) {
	v.errs = append(v.errs, &ConfigError{Path: v.path, Line: v.lines[key], Key: key, Err: err})
}

func (v *validator) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

func (v *validator) set(key string) bool {
	_, ok := v.lines[key]
	return ok
}

func (v *validator) convert(fc *fileConfig) *Config {
	c := &Config{
		Repo:          v.repoURL("repo", fc.Repo),
		Product:       fc.Product,
		Root:          v.root(fc),
		TrustedKeys:   v.absPath("trusted_keys", fc.TrustedKeys, ""),
		Role:          v.oneOf("role", fc.Role, RoleSingle, RolePrimary, RoleSecondary),
		StateDir:      v.dataDir("state_dir", fc.StateDir, DefaultStateDir),
		CacheDir:      v.dataDir("cache_dir", fc.CacheDir, DefaultCacheDir),
		LogDir:        v.dataDir("log_dir", fc.LogDir, DefaultLogDir),
		LockDir:       v.dataDir("lock_dir", fc.LockDir, DefaultLockDir),
		ScriptTimeout: v.duration("script_timeout", fc.ScriptTimeout, true),
		Ring:          v.oneOf("ring", fc.Ring, repo.RingStable, repo.RingTesting),
		MachineID:     v.machineID("machine_id", fc.MachineID),
	}
	c.Parts = v.partNames("parts", fc.Parts)
	switch {
	case fc.Product == "":
		v.fail("product", `required: set the product name as the repository spells it, such as product = "shop"`)
	default:
		if err := repo.ValidProductName(fc.Product); err != nil {
			v.failErr("product", err)
		}
	}

	if fc.Customer != "" || v.set("customer") {
		if err := repo.ValidCustomerName(fc.Customer); err != nil {
			v.fail("customer", "%v: set it to the customer name the vendor uses for this server's customer fixes, such as customer = \"shop-a\", or remove it", err)
		}
		c.Customer = fc.Customer
	}

	switch {
	case fc.Version != "" && fc.VersionFile != "":
		v.fail("version", "set only one of version and version_file (version_file is on line %d); version_file is usually right, because a full patch updates it", v.lines["version_file"])
	case fc.Version == "" && fc.VersionFile == "" && len(fc.Instance) > 0:
		// Each [[instance]] names its own (checked there).
	case fc.Version == "" && fc.VersionFile == "":
		key := "version_file"
		if v.set("version") {
			key = "version"
		}
		v.fail(key, `required: set version_file to the file that holds the installed base version, such as version_file = "/opt/shop/VERSION", or give it literally: version = "6.14.2"`)
	case fc.Version != "":
		if _, err := repo.ParseVersion(fc.Version); err != nil {
			v.failErr("version", err)
		}
		c.Version = fc.Version
	default:
		if bad := badPathChar(fc.VersionFile); bad != "" {
			v.fail("version_file", "%q %s", fc.VersionFile, bad)
		} else if filepath.IsAbs(fc.VersionFile) {
			c.VersionFile = filepath.Clean(fc.VersionFile)
		} else if c.Root != "" {
			c.VersionFile = filepath.Join(c.Root, fc.VersionFile)
		}
	}

	c.Schedule = Schedule{
		Cron:         fc.Schedule.Cron,
		DaysOfWeek:   fc.Schedule.DaysOfWeek,
		RandomWait:   v.duration("schedule.random_wait", fc.Schedule.RandomWait, false),
		CheckOnly:    fc.Schedule.CheckOnly,
		DownloadOnly: fc.Schedule.DownloadOnly,
	}
	v.schedule(c.Schedule)

	c.Pause = PauseConfig{
		ServiceWaits:    fc.Pause.ServiceWaits,
		ServiceWaitTime: v.duration("pause.service_wait_time", fc.Pause.ServiceWaitTime, false),
	}

	c.Notify = v.notify(&fc.Notify)

	c.Hooks = Hooks{
		PreInstall:  v.command("hooks.pre_install", fc.Hooks.PreInstall),
		PostInstall: v.command("hooks.post_install", fc.Hooks.PostInstall),
		HealthCheck: v.command("hooks.health_check", fc.Hooks.HealthCheck),
		Timeout:     v.duration("hooks.timeout", fc.Hooks.Timeout, true),
	}

	c.Network = Network{
		ConnectTimeout: v.duration("network.connect_timeout", fc.Network.ConnectTimeout, true),
		MinRate:        v.number("network.min_rate", fc.Network.MinRate, 1, 1<<40),
		StallTime:      v.duration("network.stall_time", fc.Network.StallTime, true),
		IndexTimeout:   v.duration("network.index_timeout", fc.Network.IndexTimeout, true),
		Retries:        int(v.number("network.retries", fc.Network.Retries, 0, 100)),
		MaxIndexSize:   v.number("network.max_index_size", fc.Network.MaxIndexSize, 1, 1<<30),
	}
	v.instances(fc, c)
	return c
}

func (v *validator) repoURL(key, s string) string {
	if s == "" {
		v.fail(key, `required: set the repository URL, such as repo = "https://fixes.example.com/" (or "file:///srv/hotfix" for a local copy)`)
		return ""
	}
	if strings.HasPrefix(s, "/") {
		v.fail(key, "%q is a path, not a URL: write %q", s, "file://"+s)
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		v.fail(key, `%q is not a URL: want http://, https:// or file:// followed by the repository root, such as "https://fixes.example.com/"`, s)
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			v.fail(key, "%q has no host: want such as \"https://fixes.example.com/\"", s)
			return ""
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" || !strings.HasPrefix(u.Path, "/") {
			v.fail(key, "%q: a file URL needs an absolute path after file://, such as \"file:///srv/hotfix\"", s)
			return ""
		}
	default:
		v.fail(key, "%q: scheme %q is not supported: use http, https or file", s, u.Scheme)
		return ""
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		v.fail(key, "%q: a repository URL cannot have a query or fragment: give the repository root", s)
		return ""
	}
	if u.Opaque != "" {
		v.fail(key, "%q is not a hierarchical URL: want such as \"https://fixes.example.com/\"", s)
		return ""
	}
	return strings.TrimRight(s, "/")
}

func badPathChar(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

// absPath checks an absolute path. A non-empty required is the message
// for a missing value; otherwise the key has a default that was emptied.
func (v *validator) absPath(key, s string, required string) string {
	switch {
	case s == "" && required != "":
		v.fail(key, "%s", required)
	case s == "":
		v.fail(key, "empty: want %s, or remove the line to use the default", knownKeys[key])
	case badPathChar(s) != "":
		v.fail(key, "%q %s", s, badPathChar(s))
	case !filepath.IsAbs(s):
		v.fail(key, "%q is relative: want %s", s, knownKeys[key])
	default:
		return filepath.Clean(s)
	}
	return ""
}

// dataDir is a directory hotfix writes into: never the filesystem root, as
// cleaning a cache there would be a disaster.
func (v *validator) dataDir(key, s, example string) string {
	p := v.absPath(key, s, "")
	if p == "/" {
		v.fail(key, "%q: hotfix keeps its own files here, so it must be a directory of its own, such as %q", s, example)
		return ""
	}
	return p
}

func (v *validator) oneOf(key, s string, allowed ...string) string {
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v.fail(key, "%q is not one of %s", s, knownKeys[key])
	return ""
}

// duration parses a duration; positive demands more than zero, for the
// timeouts, where 0 would mean a hung script blocks every later run.
func (v *validator) duration(key, s string, positive bool) Duration {
	var d Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		v.failErr(key, err)
		return Duration{}
	}
	if positive && d.Duration == 0 {
		v.fail(key, "%q: a timeout must be more than 0: want %s", s, knownKeys[key])
	}
	return d
}

func (v *validator) number(key string, n, lo, hi int64) int64 {
	if n < lo || n > hi {
		v.fail(key, "%d is out of range %d to %d: want %s", n, lo, hi, knownKeys[key])
		return 0
	}
	return n
}

func (v *validator) command(key, s string) string {
	if v.set(key) && strings.TrimSpace(s) == "" {
		v.fail(key, "empty command: give a shell command, or remove the line")
	}
	if strings.ContainsRune(s, 0) {
		v.fail(key, "contains a NUL byte")
	}
	return s
}

func (v *validator) notify(fn *fileNotify) notify.Config {
	n := notify.Config{
		MailFrom:     fn.MailFrom,
		SystemName:   fn.SystemName,
		SMTP:         fn.SMTP,
		SMTPUser:     fn.SMTPUser,
		SMTPPassword: fn.SMTPPassword,
		Sendmail:     fn.Sendmail,
		Webhook:      fn.Webhook,
		MailReport:   v.oneOf("notify.mail_report", fn.MailReport, notify.MailAlways, notify.MailOnChange, notify.MailOnError),
	}
	const key = "notify.mail_to"
	switch to := fn.MailTo.(type) {
	case nil:
	case string:
		if to != "" {
			n.MailTo = []string{to}
		}
	case []any:
		for i, e := range to {
			s, ok := e.(string)
			if !ok {
				v.fail(key, "element %d is a TOML %s, not a string: want %s", i+1, tomlType(e), knownKeys[key])
				continue
			}
			n.MailTo = append(n.MailTo, s)
		}
	default:
		v.fail(key, "wrong type: got a TOML %s, want %s", tomlType(to), knownKeys[key])
	}
	for _, a := range n.MailTo {
		if _, err := mail.ParseAddress(a); err != nil {
			v.fail(key, "%q is not a mail address (%v): want such as \"ops@example.com\"", a, err)
		}
	}

	host, herr := hostname()
	if herr != nil || host == "" {
		host = "localhost"
	}
	if n.SystemName == "" {
		n.SystemName = host
	}
	if n.MailFrom == "" {
		n.MailFrom = "hotfix@" + host
	}
	if _, err := mail.ParseAddress(n.MailFrom); err != nil {
		v.fail("notify.mail_from", "%q is not a mail address (%v): want %s", n.MailFrom, err, knownKeys["notify.mail_from"])
	}

	switch {
	case n.SMTP != "" && n.Sendmail != "":
		v.fail("notify.sendmail", "set only one of smtp (line %d) and sendmail", v.lines["notify.smtp"])
	case n.SMTP != "":
		h, port, err := net.SplitHostPort(n.SMTP)
		p, perr := strconv.Atoi(port)
		if err != nil || h == "" || perr != nil || p < 1 || p > 65535 {
			v.fail("notify.smtp", "%q is not host:port: want %s", n.SMTP, knownKeys["notify.smtp"])
		}
	case n.Sendmail == "" && v.set("notify.sendmail"):
		v.fail("notify.sendmail", `empty: want %s, or remove the line to use the default`, knownKeys["notify.sendmail"])
	default:
		if n.Sendmail == "" {
			n.Sendmail = notify.DefaultSendmail
		}
		n.Sendmail = v.absPath("notify.sendmail", n.Sendmail, "")
	}
	if n.SMTPUser != "" && n.SMTP == "" {
		v.fail("notify.smtp_user", "SMTP authentication needs smtp = \"host:port\" as well")
	}
	if n.SMTPPassword != "" && n.SMTPUser == "" {
		v.fail("notify.smtp_password", "a password needs smtp_user as well")
	}

	if n.Webhook != "" {
		u, err := url.Parse(n.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("notify.webhook", "%q is not an http or https URL: want such as \"https://hooks.example.com/hotfix\"", n.Webhook)
		}
	}
	n.MetricsFile = v.metricsFile(fn.MetricsFile)
	return n
}

// metricsFile checks [notify] metrics_file: off when empty, else an
// absolute path that node_exporter's textfile collector reads, which
// takes only names ending in .prom.
func (v *validator) metricsFile(s string) string {
	const key = "notify.metrics_file"
	switch {
	case s == "":
		return ""
	case !strings.HasSuffix(s, ".prom") || filepath.Base(s) == ".prom":
		v.fail(key, "%q does not end in .prom, so node_exporter's textfile collector would never read it: want %s", s, knownKeys[key])
		return ""
	}
	return v.absPath(key, s, "")
}

// tomlType names the TOML type of a value go-toml decoded into an any.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return "date or time"
}

// schedule checks [schedule] with the parser the daemon uses, so that
// what loads also runs; each setting at fault is named with its line.
func (v *validator) schedule(s Schedule) {
	_, err := schedule.New(s.Cron, s.DaysOfWeek, s.RandomWait.Duration)
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, err := range errs {
		var se *schedule.Error
		if errors.As(err, &se) {
			v.failErr("schedule."+se.Key, se.Err)
		} else {
			v.failErr("schedule", err)
		}
	}
}

// partNames checks a list of part names: valid, none twice.
func (v *validator) partNames(key string, names []string) []string {
	seen := map[string]bool{}
	for _, n := range names {
		if err := repo.ValidPartName(n); err != nil {
			v.failErr(key, err)
		} else if seen[n] {
			v.fail(key, "part %q is listed twice", n)
		}
		seen[n] = true
	}
	return names
}
