package client

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/hotfix-project/hotfix/client/notify"
)

const minimalConfig = `repo = "https://fixes.example.com/hotfix/"
product = "shop"
root = "/opt/shop"
version_file = "VERSION"
`

const fullConfig = `repo = "file:///srv/hotfix"
product = "shop-eu.2"
root = "/opt/shop/"
version = "6.14.2"
trusted_keys = "/etc/hotfix/keys/vendor.asc"
role = "primary"
state_dir = "/srv/state"
cache_dir = "/srv/cache"
log_dir = "/srv/log"
lock_dir = "/run/hf"
script_timeout = "1h30m"

[schedule]
cron = "CRON_TZ=Europe/Berlin 30 3 * * 1-5"
days_of_week = "12345"
random_wait = "0"
check_only = true
download_only = true

[pause]
service_waits = true
service_wait_time = "2h"

[notify]
mail_to = ["ops@example.com", "Dba Team <dba@example.com>"]
mail_from = "hotfix@shop.example.com"
system_name = "shop-web-1"
smtp = "mail.example.com:587"
smtp_user = "hotfix"
smtp_password = "s3cret"
webhook = "https://hooks.example.com/hotfix"
mail_report = "always"
metrics_file = "/var/lib/prometheus/node-exporter/hotfix.prom"

[hooks]
pre_install = "systemctl stop shop"
post_install = "systemctl start shop"
health_check = "curl -fsS http://127.0.0.1:8080/health"
timeout = "90s"

[network]
connect_timeout = "5s"
min_rate = 4096
retries = 0
max_index_size = 1048576
`

func dur(s string) Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration{d}
}

func TestParseConfigFull(t *testing.T) {
	c, err := ParseConfig("/etc/hotfix/hotfix.toml", []byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Repo:          "file:///srv/hotfix",
		Product:       "shop-eu.2",
		Root:          "/opt/shop",
		Version:       "6.14.2",
		TrustedKeys:   "/etc/hotfix/keys/vendor.asc",
		Role:          RolePrimary,
		StateDir:      "/srv/state",
		CacheDir:      "/srv/cache",
		LogDir:        "/srv/log",
		LockDir:       "/run/hf",
		ScriptTimeout: dur("1h30m"),
		Ring:          "stable",
		Schedule: Schedule{
			Cron:         "CRON_TZ=Europe/Berlin 30 3 * * 1-5",
			DaysOfWeek:   "12345",
			RandomWait:   Duration{},
			CheckOnly:    true,
			DownloadOnly: true,
		},
		Pause: PauseConfig{ServiceWaits: true, ServiceWaitTime: dur("2h")},
		Notify: notify.Config{
			MailTo:       []string{"ops@example.com", "Dba Team <dba@example.com>"},
			MailFrom:     "hotfix@shop.example.com",
			SystemName:   "shop-web-1",
			SMTP:         "mail.example.com:587",
			SMTPUser:     "hotfix",
			SMTPPassword: "s3cret",
			Webhook:      "https://hooks.example.com/hotfix",
			MailReport:   notify.MailAlways,
			MetricsFile:  "/var/lib/prometheus/node-exporter/hotfix.prom",
		},
		Hooks: Hooks{
			PreInstall:  "systemctl stop shop",
			PostInstall: "systemctl start shop",
			HealthCheck: "curl -fsS http://127.0.0.1:8080/health",
			Timeout:     dur("90s"),
		},
		Network: Network{ConnectTimeout: dur("5s"), MinRate: 4096, StallTime: dur("30s"), IndexTimeout: dur("2m"), Retries: 0, MaxIndexSize: 1 << 20},
		Path:    "/etc/hotfix/hotfix.toml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if s, err := c.Schedule.Parse(); err != nil || s.Days != [7]bool{false, true, true, true, true, true, false} {
		t.Errorf("Schedule.Parse() = %+v, %v", s, err)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	c, err := ParseConfig("x.toml", []byte(minimalConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Repo:          "https://fixes.example.com/hotfix",
		Product:       "shop",
		Root:          "/opt/shop",
		VersionFile:   "/opt/shop/VERSION",
		TrustedKeys:   "/etc/hotfix/trusted.d",
		Role:          RoleSingle,
		StateDir:      "/var/lib/hotfix",
		CacheDir:      "/var/cache/hotfix",
		LogDir:        "/var/log/hotfix",
		LockDir:       "/run/hotfix",
		ScriptTimeout: dur("10m"),
		Ring:          "stable",
		Schedule:      Schedule{Cron: "2 4 * * *", DaysOfWeek: "0123456", RandomWait: dur("1h")},
		Pause:         PauseConfig{ServiceWaitTime: dur("30m")},
		Notify: notify.Config{
			MailFrom:   "hotfix@" + host,
			SystemName: host,
			Sendmail:   "/usr/sbin/sendmail",
			MailReport: notify.MailOnChange,
		},
		Hooks:   Hooks{Timeout: dur("5m")},
		Network: Network{ConnectTimeout: dur("15s"), MinRate: 1024, StallTime: dur("30s"), IndexTimeout: dur("2m"), Retries: 3, MaxIndexSize: 8 << 20},
		Path:    "x.toml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if s, err := c.Schedule.Parse(); err != nil || s.Days != [7]bool{true, true, true, true, true, true, true} {
		t.Errorf("Schedule.Parse() = %+v, %v", s, err)
	}
}

// TestParseConfigForms covers spellings TOML allows beyond the plain one.
func TestParseConfigForms(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		check func(*Config) bool
	}{
		{"mail_to as a string", "[notify]\nmail_to = \"ops@example.com\"\n",
			func(c *Config) bool {
				return reflect.DeepEqual(c.Notify.MailTo, []string{"ops@example.com"}) && c.Notify.Sendmail == notify.DefaultSendmail
			}},
		{"mail_to empty array", "[notify]\nmail_to = []\n",
			func(c *Config) bool { return c.Notify.MailTo == nil }},
		{"sendmail given", "[notify]\nmail_to = \"a@b.c\"\nsendmail = \"/usr/lib/sendmail\"\n",
			func(c *Config) bool { return c.Notify.Sendmail == "/usr/lib/sendmail" }},
		{"smtp clears sendmail default", "[notify]\nsmtp = \"[::1]:25\"\n",
			func(c *Config) bool { return c.Notify.Sendmail == "" && c.Notify.SMTP == "[::1]:25" }},
		{"dotted keys", "schedule.cron = \"@daily\"\nnotify.mail_report = \"on-error\"\n",
			func(c *Config) bool { return c.Schedule.Cron == "@daily" && c.Notify.MailReport == notify.MailOnError }},
		{"inline table", "hooks = { timeout = \"1m\" }\n",
			func(c *Config) bool { return c.Hooks.Timeout == dur("1m") }},
		{"absolute version_file", "", nil},
		{"file repo with slash", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("x.toml", []byte(minimalConfig+tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("unexpected result %+v", c)
			}
		})
	}
	c, err := ParseConfig("x.toml", []byte(`repo = "file:///srv/hotfix/"
product = "p"
root = "/r"
version_file = "/etc/p/VERSION"`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Repo != "file:///srv/hotfix" || c.VersionFile != "/etc/p/VERSION" {
		t.Errorf("repo %q version_file %q", c.Repo, c.VersionFile)
	}
}

// header is what most error cases start from: lines 1-4.
const header = `repo = "https://fixes.example.com/"
product = "shop"
root = "/opt/shop"
version_file = "/opt/shop/VERSION"
`

// TestParseConfigErrors runs every refusal of a configuration through
// ParseConfig and checks its message. It is long because its table is:
// one row per refusal reads better than the rows split over functions.
func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // every string must be in the message
	}{
		{"unknown top-level key", header + "colour = \"red\"\n",
			[]string{"x.toml:5: colour: unknown key"}},
		{"unknown key in table", header + "[schedule]\ncron = \"@daily\"\ndays_of_weak = \"1\"\n",
			[]string{"x.toml:7: schedule.days_of_weak: unknown key; did you mean schedule.days_of_week?"}},
		{"top-level key below a table", header + "[schedule]\nrole = \"primary\"\n",
			[]string{"x.toml:6: schedule.role: unknown key: role is a top-level key; move it above the first [table] header"}},
		{"table key at top level", header + "cron = \"@daily\"\n",
			[]string{"x.toml:5: cron: unknown key; did you mean schedule.cron?"}},
		{"unknown table", header + "[sched]\ncron = \"@daily\"\n",
			[]string{"x.toml:5: sched: unknown table"}},
		{"two unknown keys", header + "a = 1\n[hooks]\nb = 2\n",
			[]string{"x.toml:5: a: unknown key", "x.toml:7: hooks.b: unknown key"}},
		{"syntax error", header + "role = \n",
			[]string{"x.toml:5: syntax error at column 8"}},
		{"duplicate key", header + "root = \"/x\"\n",
			[]string{"x.toml:5: root: key root is already defined"}},
		{"wrong type string", header + "role = 1\n",
			[]string{`x.toml:5: role: wrong type: got a TOML integer, want "single", "primary" or "secondary"`}},
		{"wrong type customer", header + "customer = 3\n",
			[]string{`x.toml:5: customer: wrong type: got a TOML integer, want the customer name`}},
		{"wrong type bool", header + "[schedule]\ncheck_only = \"yes\"\n",
			[]string{"x.toml:6: schedule.check_only: wrong type: got a TOML string, want true or false"}},
		{"wrong type duration", header + "[schedule]\nrandom_wait = 5\n",
			[]string{`x.toml:6: schedule.random_wait: wrong type: got a TOML integer, want a duration string, such as "1h"`}},
		{"wrong type int", header + "[network]\nretries = \"3\"\n",
			[]string{"x.toml:6: network.retries: wrong type: got a TOML string, want an integer"}},
		{"table given a value", header + "schedule = 5\n",
			[]string{"x.toml:5: schedule: wrong type: got a TOML integer, want a table: [schedule]"}},
		{"inline table given to a string", header + "[schedule]\ncron = { a = 1 }\n",
			[]string{`x.toml:6: schedule.cron: wrong type: got a TOML inline table, want a cron spec string`}},
		{"table header given to a string", header + "[role]\n",
			[]string{`x.toml:5: role: wrong type: got a TOML table, want "single"`}},
		{"array of tables", header + "[[hooks]]\n",
			[]string{"x.toml:5: hooks: wrong type: got a TOML array of tables, want a table: [hooks]"}},
		{"local date", header + "role = 1979-05-27\n",
			[]string{`x.toml:5: role: wrong type: got a TOML local date, want "single"`}},
		{"datetime", header + "role = 1979-05-27T07:32:00Z\n",
			[]string{`x.toml:5: role: wrong type: got a TOML datetime, want "single"`}},
		{"key below a string", header + "schedule.cron.x = 1\n",
			[]string{`x.toml:5: schedule.cron.x: wrong type: got a TOML table, want a cron spec string`}},
		{"mail_to wrong type", header + "[notify]\nmail_to = 5\n",
			[]string{"x.toml:6: notify.mail_to: wrong type: got a TOML integer, want a mail address"}},
		{"mail_to element wrong type", header + "[notify]\nmail_to = [\"a@b.c\", 5]\n",
			[]string{"x.toml:6: notify.mail_to: element 2 is a TOML integer, not a string"}},
		{"mail_to bad address", header + "[notify]\nmail_to = \"not an address\"\n",
			[]string{`x.toml:6: notify.mail_to: "not an address" is not a mail address`}},
		{"bad mail_from", header + "[notify]\nmail_from = \"@@\"\n",
			[]string{`x.toml:6: notify.mail_from: "@@" is not a mail address`}},
		{"days out of range", header + "[schedule]\n\ndays_of_week = \"0128\"\n",
			[]string{`x.toml:7: schedule.days_of_week: "0128": day 8 is not 0-6 (Sunday = 0)`}},
		{"days duplicate", header + "[schedule]\ndays_of_week = \"1231\"\n",
			[]string{`x.toml:6: schedule.days_of_week: "1231": day 1 is given twice`}},
		{"days not digits", header + "[schedule]\ndays_of_week = \"Mon\"\n",
			[]string{`x.toml:6: schedule.days_of_week: "Mon": 'M' is not a day`}},
		{"days empty", header + "[schedule]\ndays_of_week = \"\"\n",
			[]string{`x.toml:6: schedule.days_of_week: empty: no day would ever run`}},
		{"cron never fires", header + "[schedule]\ncron = \"0 0 30 2 *\"\n",
			[]string{`x.toml:6: schedule.cron: "0 0 30 2 *" never fires`}},
		{"cron TZ without space", header + "[schedule]\ncron = \"TZ=UTC* * * * *\"\n",
			[]string{`x.toml:6: schedule.cron: "TZ=UTC* * * * *": provided bad location UTC*`}},
		{"cron TZ panic", header + "[schedule]\ncron = \"TZ=UTC\"\n",
			[]string{`x.toml:6: schedule.cron: "TZ=UTC" is malformed`}},
		{"cron CRON_TZ panic", header + "[schedule]\ncron = \"CRON_TZ=UTC\"\n",
			[]string{`x.toml:6: schedule.cron: "CRON_TZ=UTC" is malformed`}},
		{"cron unknown zone", header + "[schedule]\ncron = \"CRON_TZ=Nowhere/City 0 4 * * *\"\n",
			[]string{`x.toml:6: schedule.cron: "CRON_TZ=Nowhere/City 0 4 * * *": provided bad location Nowhere/City`}},
		{"cron bad field", header + "[schedule]\ncron = \"61 4 * * *\"\n",
			[]string{`x.toml:6: schedule.cron: "61 4 * * *"`, "want five fields"}},
		{"cron six fields", header + "[schedule]\ncron = \"0 0 4 * * *\"\n",
			[]string{`x.toml:6: schedule.cron: "0 0 4 * * *"`, "expected exactly 5 fields"}},
		{"cron too often", header + "[schedule]\ncron = \"@every 5s\"\n",
			[]string{`x.toml:6: schedule.cron: "@every 5s" fires more often than once a minute`}},
		{"cron dotted key", header + "schedule.cron = \"0 0 31 4 *\"\n",
			[]string{`x.toml:5: schedule.cron: "0 0 31 4 *" never fires`}},
		{"cron inline table", header + "\nschedule = { cron = \"bad\" }\n",
			[]string{`x.toml:6: schedule.cron: "bad"`}},
		{"bad role", header + "role = \"master\"\n",
			[]string{`x.toml:5: role: "master" is not one of "single", "primary" or "secondary"`}},
		{"bad mail_report", header + "[notify]\nmail_report = \"never\"\n",
			[]string{`x.toml:6: notify.mail_report: "never" is not one of "always", "on-change" or "on-error"`}},
		{"repo scheme", "product = \"shop\"\nrepo = \"ftp://fixes.example.com/\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:2: repo: "ftp://fixes.example.com/": scheme "ftp" is not supported: use http, https or file`}},
		{"repo bare path", "repo = \"/srv/hotfix\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:1: repo: "/srv/hotfix" is a path, not a URL: write "file:///srv/hotfix"`}},
		{"repo relative file url", "repo = \"file://srv/hotfix\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:1: repo: "file://srv/hotfix": a file URL needs an absolute path`}},
		{"repo no host", "repo = \"https:///x\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:1: repo: "https:///x" has no host`}},
		{"repo query", "repo = \"https://h/x?y=1\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:1: repo: "https://h/x?y=1": a repository URL cannot have a query`}},
		{"repo not a url", "repo = \"fixes.example.com\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:1: repo: "fixes.example.com" is not a URL`}},
		{"bad product", "repo = \"https://h/\"\nproduct = \"Shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:2: product: product name "Shop": use lowercase letters`}},
		{"relative root", "repo = \"https://h/\"\nproduct = \"shop\"\nroot = \"opt/shop\"\nversion = \"6.14.2\"\n",
			[]string{`x.toml:3: root: "opt/shop" is relative: want an absolute path, such as "/opt/shop"`}},
		{"relative state_dir", header + "state_dir = \"var/lib/hotfix\"\n",
			[]string{`x.toml:5: state_dir: "var/lib/hotfix" is relative`}},
		{"cache_dir is /", header + "cache_dir = \"/\"\n",
			[]string{`x.toml:5: cache_dir: "/": hotfix keeps its own files here`}},
		{"empty lock_dir", header + "lock_dir = \"\"\n",
			[]string{`x.toml:5: lock_dir: empty`}},
		{"relative trusted_keys", header + "trusted_keys = \"trusted.d\"\n",
			[]string{`x.toml:5: trusted_keys: "trusted.d" is relative`}},
		{"control char in path", header + "log_dir = \"/var/log/\\u0000x\"\n",
			[]string{`x.toml:5: log_dir: "/var/log/\x00x" contains a control character`}},
		{"both version and version_file", header + "version = \"6.14.2\"\n",
			[]string{`x.toml:5: version: set only one of version and version_file (version_file is on line 4)`}},
		{"neither version nor version_file", "repo = \"https://h/\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\n",
			[]string{`x.toml: version_file: required: set version_file`}},
		{"bad version", "repo = \"https://h/\"\nproduct = \"shop\"\nroot = \"/opt/shop\"\nversion = \"6.14.x\"\n",
			[]string{`x.toml:4: version: version "6.14.x": part "x" is not a number`}},
		{"missing required keys", "role = \"single\"\n",
			[]string{"x.toml: repo: required", "x.toml: product: required", "x.toml: root: required: set the product's install root", "x.toml: version_file: required"}},
		{"negative duration", header + "script_timeout = \"-5m\"\n",
			[]string{`x.toml:5: script_timeout: "-5m" is negative`}},
		{"zero timeout", header + "[hooks]\ntimeout = \"0\"\n",
			[]string{`x.toml:6: hooks.timeout: "0": a timeout must be more than 0`}},
		{"bad duration", header + "[pause]\nservice_wait_time = \"soon\"\n",
			[]string{`x.toml:6: pause.service_wait_time: "soon" is not a duration`}},
		{"min_rate zero", header + "[network]\nmin_rate = 0\n",
			[]string{`x.toml:6: network.min_rate: 0 is out of range 1 to`}},
		{"retries negative", header + "[network]\nretries = -1\n",
			[]string{`x.toml:6: network.retries: -1 is out of range 0 to 100`}},
		{"max_index_size negative", header + "[network]\nmax_index_size = -8\n",
			[]string{`x.toml:6: network.max_index_size: -8 is out of range`}},
		{"smtp not host:port", header + "[notify]\nsmtp = \"mail.example.com\"\n",
			[]string{`x.toml:6: notify.smtp: "mail.example.com" is not host:port`}},
		{"smtp bad port", header + "[notify]\nsmtp = \"mail:99999\"\n",
			[]string{`x.toml:6: notify.smtp: "mail:99999" is not host:port`}},
		{"smtp and sendmail", header + "[notify]\nsmtp = \"mail:25\"\nsendmail = \"/usr/sbin/sendmail\"\n",
			[]string{`x.toml:7: notify.sendmail: set only one of smtp (line 6) and sendmail`}},
		{"smtp_user without smtp", header + "[notify]\nsmtp_user = \"u\"\n",
			[]string{`x.toml:6: notify.smtp_user: SMTP authentication needs smtp`}},
		{"smtp_password without user", header + "[notify]\nsmtp = \"m:25\"\nsmtp_password = \"p\"\n",
			[]string{`x.toml:7: notify.smtp_password: a password needs smtp_user`}},
		{"relative sendmail", header + "[notify]\nsendmail = \"sendmail\"\n",
			[]string{`x.toml:6: notify.sendmail: "sendmail" is relative`}},
		{"empty sendmail", header + "[notify]\nsendmail = \"\"\n",
			[]string{`x.toml:6: notify.sendmail: empty`}},
		{"webhook scheme", header + "[notify]\nwebhook = \"ftp://h/x\"\n",
			[]string{`x.toml:6: notify.webhook: "ftp://h/x" is not an http or https URL`}},
		{"metrics_file not .prom", header + "[notify]\nmetrics_file = \"/var/lib/node-exporter/hotfix.txt\"\n",
			[]string{`x.toml:6: notify.metrics_file: "/var/lib/node-exporter/hotfix.txt" does not end in .prom`}},
		{"metrics_file only .prom", header + "[notify]\nmetrics_file = \"/var/lib/node-exporter/.prom\"\n",
			[]string{`x.toml:6: notify.metrics_file: "/var/lib/node-exporter/.prom" does not end in .prom`}},
		{"metrics_file relative", header + "[notify]\nmetrics_file = \"hotfix.prom\"\n",
			[]string{`x.toml:6: notify.metrics_file: "hotfix.prom" is relative`}},
		{"metrics_file wrong type", header + "[notify]\nmetrics_file = 5\n",
			[]string{`x.toml:6: notify.metrics_file`}},
		{"empty hook", header + "[hooks]\npre_install = \"  \"\n",
			[]string{`x.toml:6: hooks.pre_install: empty command`}},
		{"several problems in line order", header + "role = \"x\"\n[schedule]\ndays_of_week = \"9\"\n",
			[]string{"x.toml:5: role: \"x\" is not one of", "\nx.toml:7: schedule.days_of_week:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("x.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; got %+v", c)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\ndoes not contain\n  %s", err, w)
				}
			}
		})
	}
}

func TestConfigErrorUnwrap(t *testing.T) {
	_, err := ParseConfig("x.toml", []byte(header+"role = 1\n"))
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("decode error lost from chain: %v", err)
	}
	_, err = ParseConfig("x.toml", []byte(header+"nope = 1\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 5 || ce.Key != "nope" || ce.Path != "x.toml" {
		t.Errorf("got %#v", ce)
	}
	if !errors.As(err, &de) {
		t.Errorf("strict error lost from chain: %v", err)
	}
}

func TestShippedConfigParses(t *testing.T) {
	path := filepath.Join("..", "packaging", "hotfix.toml")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Repo != "https://fixes.example.com" || c.Product != "shop" || c.Root != "/opt/shop" ||
		c.VersionFile != "/opt/shop/VERSION" || c.Path != path {
		t.Errorf("unexpected %+v", c)
	}
	// Uncommenting each documented example must still give a valid file
	// (except the alternatives that exclude each other).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	exclusive := map[string]bool{"version": true, "sendmail": true, "smtp_user": true, "smtp_password": true}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			k, _, isKV := strings.Cut(rest, " = ")
			if isKV && !strings.Contains(k, " ") && !exclusive[k] {
				line = rest
			}
		}
		out = append(out, line)
	}
	uncommented := strings.Join(out, "\n")
	c2, err := ParseConfig("uncommented.toml", []byte(uncommented))
	if err != nil {
		t.Fatalf("%v\n%s", err, uncommented)
	}
	if c2.Notify.SMTP == "" || c2.Hooks.HealthCheck == "" || c2.Network.MaxIndexSize != DefaultMaxIndexSize {
		t.Errorf("examples not uncommented: %+v", c2)
	}
	// Every key the loader knows is documented in the shipped file.
	for k := range knownKeys {
		last := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(data), last+" = ") && !strings.Contains(string(data), "["+k+"]") {
			t.Errorf("packaging/hotfix.toml does not document %s", k)
		}
	}
}

func TestLoadConfigMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotfix.toml")
	_, err := LoadConfig(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
	for _, w := range []string{path + " does not exist", "packaging/hotfix.toml", "--config", "HOTFIX_CONFIG"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q missing from %v", w, err)
		}
	}
}

func TestLoadConfigTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotfix.toml")
	if err := os.WriteFile(path, make([]byte, maxConfigSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadConfigErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotfix.toml")
	if err := os.WriteFile(path, []byte(header+"\n[schedule]\ndays_of_week = \"0128\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	want := path + `:7: schedule.days_of_week: "0128": day 8 is not 0-6 (Sunday = 0)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestConfigPath(t *testing.T) {
	t.Setenv(ConfigEnv, "")
	if got := ConfigPath(""); got != DefaultConfigPath {
		t.Errorf("default: %q", got)
	}
	t.Setenv(ConfigEnv, "/env/hotfix.toml")
	if got := ConfigPath(""); got != "/env/hotfix.toml" {
		t.Errorf("env: %q", got)
	}
	if got := ConfigPath("/flag/hotfix.toml"); got != "/flag/hotfix.toml" {
		t.Errorf("flag: %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0s"}, {"30m", "30m"}, {"1h", "1h"}, {"1h30m", "1h30m"}, {"90s", "1m30s"}, {"1h0m5s", "1h0m5s"}, {"1.5s", "1.5s"},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.in)); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if d.String() != tc.want {
			t.Errorf("%s: String() = %q, want %q", tc.in, d.String(), tc.want)
		}
		b, _ := d.MarshalText()
		var back Duration
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%s: round trip gave %v, %v", tc.in, back, err)
		}
	}
	for _, bad := range []string{"-1s", "5", "soon", ""} {
		var d Duration
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReadBase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := []struct{ content, want string }{
		{"6.14.2\n", "6.14.2"},
		{"  6.14.2  \r\nsecond line\n", "6.14.2"},
		{"\ufeff7.0", "7.0"},
	}
	for i, o := range ok {
		c := &Config{VersionFile: write("ok"+strconv.Itoa(i), o.content), Path: "x.toml"}
		got, err := c.ReadBase()
		if err != nil || got != o.want {
			t.Errorf("%q: got %q, %v", o.content, got, err)
		}
	}
	c := &Config{Version: "6.14.2", VersionFile: "/nonexistent"}
	if got, err := c.ReadBase(); err != nil || got != "6.14.2" {
		t.Errorf("literal: %q %v", got, err)
	}

	missing := filepath.Join(dir, "missing")
	bad := []struct {
		file string
		want []string
	}{
		{missing, []string{missing, "version_file in x.toml", "such as 6.14.2"}},
		{write("empty", "\n\n"), []string{"empty", "is empty: its first line should be the installed base version"}},
		{write("garbage", "Shop 6.14\n"), []string{"garbage", `first line "Shop 6.14" is not a version`}},
		{write("long", strings.Repeat("9", 10000)), []string{"long", "is not a version"}},
	}
	for _, b := range bad {
		c := &Config{VersionFile: b.file, Path: "x.toml"}
		_, err := c.ReadBase()
		if err == nil {
			t.Errorf("%s: no error", b.file)
			continue
		}
		for _, w := range b.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q not in %v", b.file, w, err)
			}
		}
	}
	if _, err := (&Config{VersionFile: missing}).ReadBase(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: want ErrNotExist in chain, got %v", err)
	}
}

// TestKnownKeysCoverDecodedKeys keeps knownKeys, which type errors, the
// unknown-key hints and the shipped file's documentation test read, in
// step with what the loader decodes: a key missing there (as customer
// once was) got a raw decoder message naming a Go struct instead of
// "want ...".
func TestKnownKeysCoverDecodedKeys(t *testing.T) {
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			tag := typ.Field(i).Tag.Get("toml")
			if tag == "" || tag == "-" {
				continue
			}
			key := prefix + tag
			if _, ok := knownKeys[key]; !ok {
				t.Errorf("config key %s is decoded but not in knownKeys", key)
			}
			ft := typ.Field(i).Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(key+".", ft)
			}
		}
	}
	walk("", reflect.TypeOf(fileConfig{}))
}
