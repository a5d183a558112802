package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pelletier/go-toml/v2"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/schedule"
	"github.com/hotfix-project/hotfix/internal/tomlpos"
	"github.com/hotfix-project/hotfix/repo"
)

// DefaultConfigPath is where packages install the client configuration.
const DefaultConfigPath = "/etc/hotfix/hotfix.toml"

// ConfigEnv names the environment variable that overrides DefaultConfigPath.
const ConfigEnv = "HOTFIX_CONFIG"

// maxConfigSize bounds what LoadConfig reads: a real file is a few KiB, and a
// path pointed at a device or a huge log must fail rather than eat memory.
const maxConfigSize = 1 << 20

// Defaults of the optional keys; packaging/hotfix.toml documents the same.
const (
	DefaultTrustedKeys  = "/etc/hotfix/trusted.d"
	DefaultStateDir     = "/var/lib/hotfix"
	DefaultCacheDir     = "/var/cache/hotfix"
	DefaultLogDir       = "/var/log/hotfix"
	DefaultLockDir      = "/run/hotfix"
	DefaultCron         = "2 4 * * *"
	DefaultDaysOfWeek   = "0123456"
	DefaultMinRate      = 1024
	DefaultRetries      = 3
	DefaultMaxIndexSize = 8 << 20
)

// Roles.
const (
	RoleSingle    = "single"
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
)

// Config is the client configuration of one server.
type Config struct {
	Repo          string        `toml:"repo"`           // repository root URL (http, https or file), no trailing slash
	Product       string        `toml:"product"`        // product name as in the repository
	Root          string        `toml:"root"`           // the product's install root, absolute and clean
	VersionFile   string        `toml:"version_file"`   // absolute (relative ones are resolved against Root); "" when Version is set
	Version       string        `toml:"version"`        // the base given literally; "" when VersionFile is set
	TrustedKeys   string        `toml:"trusted_keys"`   // directory or file of trusted public keys
	Role          string        `toml:"role"`           // RoleSingle, RolePrimary or RoleSecondary
	StateDir      string        `toml:"state_dir"`      // installed fixes, journal, pause marker
	CacheDir      string        `toml:"cache_dir"`      // downloaded indexes and archives
	LogDir        string        `toml:"log_dir"`        // audit.log and install logs
	LockDir       string        `toml:"lock_dir"`       // run lock; keep it on local disk
	ScriptTimeout Duration      `toml:"script_timeout"` // limit of each install script
	Schedule      Schedule      `toml:"schedule"`
	Pause         PauseConfig   `toml:"pause"`
	Notify        notify.Config `toml:"notify"`
	Hooks         Hooks         `toml:"hooks"`
	Network       Network       `toml:"network"`
	Path          string        `toml:"-"` // the file it came from
}

// Schedule is when scheduled runs (daemon, cron) happen.
type Schedule struct {
	Cron         string   `toml:"cron"`          // standard 5-field spec, optionally prefixed by CRON_TZ=Area/City
	DaysOfWeek   string   `toml:"days_of_week"`  // digits 0-6, Sunday = 0
	RandomWait   Duration `toml:"random_wait"`   // wait up to this long before starting
	CheckOnly    bool     `toml:"check_only"`    // check and report, download nothing
	DownloadOnly bool     `toml:"download_only"` // check and download, install nothing
}

// PauseConfig tunes `hotfix pause`.
type PauseConfig struct {
	ServiceWaits    bool     `toml:"service_waits"`     // pause waits for a running install, as --wait does
	ServiceWaitTime Duration `toml:"service_wait_time"` // how long pause --wait waits at most
}

// Hooks are administrator commands run around an install via /bin/sh -c.
type Hooks struct {
	PreInstall  string   `toml:"pre_install"`
	PostInstall string   `toml:"post_install"`
	HealthCheck string   `toml:"health_check"`
	Timeout     Duration `toml:"timeout"` // limit of each hook
}

// Network tunes HTTP transfers. Proxies come from the usual HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY environment variables.
type Network struct {
	ConnectTimeout Duration `toml:"connect_timeout"`
	MinRate        int64    `toml:"min_rate"`       // bytes/s; a transfer slower than this over 30 s is aborted
	Retries        int      `toml:"retries"`        // further attempts after a failed transfer; 0: none
	MaxIndexSize   int64    `toml:"max_index_size"` // bytes; larger indexes are refused
}

// Duration is a time.Duration written in TOML as a string such as "30m",
// "1h30m" or "0". Negative durations are refused.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: want a number with a unit, such as \"90s\", \"30m\" or \"1h30m\"", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative: want a duration of 0 or more, such as \"30m\"", s)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String gives the short form people write: "1h", "30m", "1h30m", "0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ConfigError is a problem in a configuration file. Line is 0 when the
// problem is a key that is missing rather than one that is wrong.
type ConfigError struct {
	Path string
	Line int
	Key  string // dotted, such as "schedule.days_of_week"; "" for syntax errors
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigPath resolves the configuration path: the --config flag value, else
// $HOTFIX_CONFIG, else DefaultConfigPath.
func ConfigPath(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(ConfigEnv); env != "" {
		return env
	}
	return DefaultConfigPath
}

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("configuration file %s does not exist: create it from the example shipped as packaging/hotfix.toml "+
			"(packages install it as %s) and set repo, product, root and version_file, or name another file with --config or $%s: %w",
			path, DefaultConfigPath, ConfigEnv, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read configuration %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("read configuration %s: larger than %d bytes; is this the right file?", path, maxConfigSize)
	}
	return ParseConfig(path, data)
}

// hostname is a variable so tests can pin it.
var hostname = os.Hostname

// fileConfig mirrors the file. Durations are plain strings here: go-toml
// reports a TextUnmarshaler's error on a non-string value without its
// position, and every error must name its line.
type fileConfig struct {
	Repo          string       `toml:"repo"`
	Product       string       `toml:"product"`
	Root          string       `toml:"root"`
	VersionFile   string       `toml:"version_file"`
	Version       string       `toml:"version"`
	TrustedKeys   string       `toml:"trusted_keys"`
	Role          string       `toml:"role"`
	StateDir      string       `toml:"state_dir"`
	CacheDir      string       `toml:"cache_dir"`
	LogDir        string       `toml:"log_dir"`
	LockDir       string       `toml:"lock_dir"`
	ScriptTimeout string       `toml:"script_timeout"`
	Schedule      fileSchedule `toml:"schedule"`
	Pause         filePause    `toml:"pause"`
	Notify        fileNotify   `toml:"notify"`
	Hooks         fileHooks    `toml:"hooks"`
	Network       fileNetwork  `toml:"network"`
}

type fileSchedule struct {
	Cron         string `toml:"cron"`
	DaysOfWeek   string `toml:"days_of_week"`
	RandomWait   string `toml:"random_wait"`
	CheckOnly    bool   `toml:"check_only"`
	DownloadOnly bool   `toml:"download_only"`
}

type filePause struct {
	ServiceWaits    bool   `toml:"service_waits"`
	ServiceWaitTime string `toml:"service_wait_time"`
}

type fileNotify struct {
	MailTo       any    `toml:"mail_to"` // a string or an array of strings
	MailFrom     string `toml:"mail_from"`
	SystemName   string `toml:"system_name"`
	SMTP         string `toml:"smtp"`
	SMTPUser     string `toml:"smtp_user"`
	SMTPPassword string `toml:"smtp_password"`
	Sendmail     string `toml:"sendmail"`
	Webhook      string `toml:"webhook"`
	MailReport   string `toml:"mail_report"`
}

type fileHooks struct {
	PreInstall  string `toml:"pre_install"`
	PostInstall string `toml:"post_install"`
	HealthCheck string `toml:"health_check"`
	Timeout     string `toml:"timeout"`
}

type fileNetwork struct {
	ConnectTimeout string `toml:"connect_timeout"`
	MinRate        int64  `toml:"min_rate"`
	Retries        int64  `toml:"retries"`
	MaxIndexSize   int64  `toml:"max_index_size"`
}

// defaults pre-fills what decoding overwrites, so defaults and given values
// go through the same checks.
func defaults() fileConfig {
	return fileConfig{
		TrustedKeys:   DefaultTrustedKeys,
		Role:          RoleSingle,
		StateDir:      DefaultStateDir,
		CacheDir:      DefaultCacheDir,
		LogDir:        DefaultLogDir,
		LockDir:       DefaultLockDir,
		ScriptTimeout: "10m",
		Schedule:      fileSchedule{Cron: DefaultCron, DaysOfWeek: DefaultDaysOfWeek, RandomWait: "1h"},
		Pause:         filePause{ServiceWaitTime: "30m"},
		Notify:        fileNotify{MailReport: notify.MailOnChange},
		Hooks:         fileHooks{Timeout: "5m"},
		Network: fileNetwork{
			ConnectTimeout: "15s",
			MinRate:        DefaultMinRate,
			Retries:        DefaultRetries,
			MaxIndexSize:   DefaultMaxIndexSize,
		},
	}
}

// knownKeys lists every key with what a valid value looks like; type errors
// and unknown-key suggestions use it.
var knownKeys = map[string]string{
	"repo":                    `the repository URL, such as "https://fixes.example.com/"`,
	"product":                 `the product name, such as "shop"`,
	"root":                    `an absolute path, such as "/opt/shop"`,
	"version_file":            `a path, such as "/opt/shop/VERSION"`,
	"version":                 `a version string, such as "6.14.2"`,
	"trusted_keys":            `an absolute path, such as "` + DefaultTrustedKeys + `"`,
	"role":                    `"single", "primary" or "secondary"`,
	"state_dir":               `an absolute path, such as "` + DefaultStateDir + `"`,
	"cache_dir":               `an absolute path, such as "` + DefaultCacheDir + `"`,
	"log_dir":                 `an absolute path, such as "` + DefaultLogDir + `"`,
	"lock_dir":                `an absolute path, such as "` + DefaultLockDir + `"`,
	"script_timeout":          `a duration string, such as "10m"`,
	"schedule":                `a table: [schedule]`,
	"schedule.cron":           `a cron spec string, such as "` + DefaultCron + `"`,
	"schedule.days_of_week":   `a string of digits 0-6, such as "12345" (Sunday = 0)`,
	"schedule.random_wait":    `a duration string, such as "1h"`,
	"schedule.check_only":     `true or false`,
	"schedule.download_only":  `true or false`,
	"pause":                   `a table: [pause]`,
	"pause.service_waits":     `true or false`,
	"pause.service_wait_time": `a duration string, such as "30m"`,
	"notify":                  `a table: [notify]`,
	"notify.mail_to":          `a mail address or an array of them, such as ["ops@example.com"]`,
	"notify.mail_from":        `a mail address, such as "hotfix@web01.example.com"`,
	"notify.system_name":      `a string, such as "web01"`,
	"notify.smtp":             `host:port, such as "mail.example.com:25"`,
	"notify.smtp_user":        `a string`,
	"notify.smtp_password":    `a string`,
	"notify.sendmail":         `an absolute path, such as "` + notify.DefaultSendmail + `"`,
	"notify.webhook":          `an http or https URL`,
	"notify.mail_report":      `"always", "on-change" or "on-error"`,
	"hooks":                   `a table: [hooks]`,
	"hooks.pre_install":       `a shell command string`,
	"hooks.post_install":      `a shell command string`,
	"hooks.health_check":      `a shell command string`,
	"hooks.timeout":           `a duration string, such as "5m"`,
	"network":                 `a table: [network]`,
	"network.connect_timeout": `a duration string, such as "15s"`,
	"network.min_rate":        `an integer number of bytes per second, such as 1024`,
	"network.retries":         `an integer, such as 3`,
	"network.max_index_size":  `an integer number of bytes, such as 8388608`,
}

// ParseConfig decodes and validates a configuration; path only names the
// source in errors and in Config.Path. All problems found are reported, one
// *ConfigError per line of the message (joined with errors.Join when more
// than one).
func ParseConfig(path string, data []byte) (*Config, error) {
	fc := defaults()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, decodeError(path, data, err)
	}
	v := &validator{path: path, lines: tomlpos.Lines(data)}
	c := v.convert(&fc)
	if err := v.result(); err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

// decodeError turns go-toml's errors into ConfigErrors. It reads go-toml's
// typed errors (key, position) and the document itself, never an error's
// text: that changes between go-toml releases.
func decodeError(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for i := range strict.Errors {
			de := &strict.Errors[i]
			row, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			// go-toml reports a [table] header the struct lacks as a
			// missing table, anything else as an unknown field.
			table := strings.HasPrefix(strings.TrimSpace(lineAt(data, row)), "[")
			errs = append(errs, &ConfigError{Path: path, Line: row, Key: key,
				Err: &wrapped{msg: unknownKeyMessage(de.Key(), table), err: de}})
		}
		return joinErrors(errs)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		var doc map[string]any
		switch {
		case key == "":
			msg = fmt.Sprintf("syntax error at column %d: %s", col, msg)
		case toml.Unmarshal(data, &doc) == nil:
			// The document is valid TOML, so the error is a value of the
			// wrong type for its key.
			if m, ok := wrongType(doc, de.Key(), lineAt(data, row), col); ok {
				msg = m
			}
		}
		return &ConfigError{Path: path, Line: row, Key: key, Err: &wrapped{msg: msg, err: de}}
	}
	return &ConfigError{Path: path, Err: err}
}

// wrongType explains a value of the wrong type at key (col is where go-toml
// says it starts on line). The expectation is that of the longest known key
// the path starts with: "schedule.cron.x = 1" makes schedule.cron a table.
func wrongType(doc map[string]any, key []string, line string, col int) (string, bool) {
	for n := len(key); n > 0; n-- {
		want, ok := knownKeys[strings.Join(key[:n], ".")]
		if !ok {
			continue
		}
		v, ok := lookup(doc, key[:n])
		if !ok {
			return "", false
		}
		got := valueType(v)
		switch {
		case got == "table" && col >= 1 && col <= len(line) && line[col-1] == '{':
			got = "inline table"
		case got == "array" && strings.HasPrefix(strings.TrimSpace(line), "[["):
			got = "array of tables"
		}
		return fmt.Sprintf("wrong type: got a TOML %s, want %s", got, want), true
	}
	return "", false
}

// lookup finds the value at a key path of a decoded document; in an array
// of tables it follows the last one, the one being defined.
func lookup(doc map[string]any, key []string) (any, bool) {
	var v any = doc
	for _, k := range key {
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			v = arr[len(arr)-1]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// valueType names the TOML type of a decoded value as go-toml's documents
// do, dates and times included.
func valueType(v any) string {
	switch v.(type) {
	case time.Time:
		return "datetime"
	case toml.LocalDateTime:
		return "local datetime"
	case toml.LocalDate:
		return "local date"
	case toml.LocalTime:
		return "local time"
	}
	return tomlType(v)
}

// lineAt returns line row (1-based) of data, or "" when there is none.
func lineAt(data []byte, row int) string {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if i == row-1 {
			return string(line)
		}
	}
	return ""
}

// unknownKeyMessage explains an unknown key and guesses what was meant; the
// classic slip is a top-level key written below a [table] header.
func unknownKeyMessage(key []string, table bool) string {
	full := strings.Join(key, ".")
	last := key[len(key)-1]
	msg := "unknown key"
	if table {
		msg = "unknown table"
	}
	if _, ok := knownKeys[last]; ok && len(key) > 1 && !strings.HasSuffix(knownKeys[last], "]") {
		return fmt.Sprintf("%s: %s is a top-level key; move it above the first [table] header", msg, last)
	}
	var guesses []string
	for k := range knownKeys {
		kl := k[strings.LastIndex(k, ".")+1:]
		if kl == last || editDistance(k, full) <= 2 {
			guesses = append(guesses, k)
		}
	}
	sort.Strings(guesses)
	if len(guesses) > 0 {
		return fmt.Sprintf("%s; did you mean %s?", msg, strings.Join(guesses, " or "))
	}
	return msg + "; packaging/hotfix.toml lists every key"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// wrapped rewords an error for people while keeping the original in the chain.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func joinErrors(errs []error) error {
	sort.SliceStable(errs, func(i, j int) bool {
		return errs[i].(*ConfigError).Line < errs[j].(*ConfigError).Line
	})
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

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
		Root:          v.absPath("root", fc.Root, `required: set the product's install root, such as root = "/opt/shop"`),
		TrustedKeys:   v.absPath("trusted_keys", fc.TrustedKeys, ""),
		Role:          v.oneOf("role", fc.Role, RoleSingle, RolePrimary, RoleSecondary),
		StateDir:      v.dataDir("state_dir", fc.StateDir, DefaultStateDir),
		CacheDir:      v.dataDir("cache_dir", fc.CacheDir, DefaultCacheDir),
		LogDir:        v.dataDir("log_dir", fc.LogDir, DefaultLogDir),
		LockDir:       v.dataDir("lock_dir", fc.LockDir, DefaultLockDir),
		ScriptTimeout: v.duration("script_timeout", fc.ScriptTimeout, true),
	}
	switch {
	case fc.Product == "":
		v.fail("product", `required: set the product name as the repository spells it, such as product = "shop"`)
	default:
		if err := repo.ValidProductName(fc.Product); err != nil {
			v.failErr("product", err)
		}
	}

	switch {
	case fc.Version != "" && fc.VersionFile != "":
		v.fail("version", "set only one of version and version_file (version_file is on line %d); version_file is usually right, because a full patch updates it", v.lines["version_file"])
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
		Retries:        int(v.number("network.retries", fc.Network.Retries, 0, 100)),
		MaxIndexSize:   v.number("network.max_index_size", fc.Network.MaxIndexSize, 1, 1<<30),
	}
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
	return n
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

// Parse returns the schedule these settings describe, by the same parser
// that checked them when the configuration was loaded.
func (s Schedule) Parse() (*schedule.Schedule, error) {
	return schedule.New(s.Cron, s.DaysOfWeek, s.RandomWait.Duration)
}

// maxVersionFile bounds the read of version_file: it holds one short line.
const maxVersionFile = 4096

// ReadBase returns the installed base version: Version if given, else the
// first line of VersionFile with surrounding space removed. A full patch
// rewrites that file, which is why it is read at every run.
func (c *Config) ReadBase() (string, error) {
	if c.Version != "" {
		return c.Version, nil
	}
	if c.VersionFile == "" {
		return "", fmt.Errorf("read base version: neither version nor version_file is set in %s", c.Path)
	}
	f, err := os.Open(c.VersionFile)
	if err != nil {
		return "", fmt.Errorf("read base version: %w (version_file in %s must name the file that holds the installed base version, such as 6.14.2)", err, c.Path)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, maxVersionFile)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read base version from %s: %w", c.VersionFile, err)
	}
	line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
	if line == "" {
		return "", fmt.Errorf("read base version: %s is empty: its first line should be the installed base version, such as 6.14.2 (version_file in %s)", c.VersionFile, c.Path)
	}
	if _, err := repo.ParseVersion(line); err != nil {
		return "", fmt.Errorf("read base version: %s: first line %q is not a version: it should be the installed base version as dotted numbers, such as 6.14.2 (version_file in %s): %w", c.VersionFile, line, c.Path, err)
	}
	return line, nil
}

// SandboxConfig returns the text of a configuration for product in root
// (whose base is in root/VERSION) that keeps state, cache, logs and locks
// below dir, so that hotfix runs unprivileged in a scratch directory:
// what "hotfix demo" and the tests use. Extra keys may be appended.
func SandboxConfig(repoURL, product, root, trustedKeys, dir string) string {
	return fmt.Sprintf(`repo = %q
product = %q
root = %q
version_file = %q
trusted_keys = %q
state_dir = %q
cache_dir = %q
log_dir = %q
lock_dir = %q
`, repoURL, product, root, filepath.Join(root, "VERSION"), trustedKeys,
		filepath.Join(dir, "state"), filepath.Join(dir, "cache"), filepath.Join(dir, "log"), filepath.Join(dir, "lock"))
}
