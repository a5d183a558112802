package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	Parts         []string      `toml:"parts"`          // optional parts of fixes to install (repo.Part)
	Ring          string        `toml:"ring"`           // rollout ring: repo.RingStable or repo.RingTesting
	MachineID     string        `toml:"machine_id"`     // this server's id for rollout buckets; "" reads MachineIDFile
	Schedule      Schedule      `toml:"schedule"`
	Pause         PauseConfig   `toml:"pause"`
	Notify        notify.Config `toml:"notify"`
	Hooks         Hooks         `toml:"hooks"`
	Network       Network       `toml:"network"`
	Path          string        `toml:"-"` // the file it came from

	// Several installations on one host and clusters (config_instances.go).
	Instances []InstanceConfig `toml:"-"` // the [[instance]] tables, in file order; nil: one unnamed instance
	Parallel  int              `toml:"-"` // at most this many instances of one level at once
	Cluster   Cluster          `toml:"-"`
	// Instance names the installation this configuration is for, when it
	// was derived from one [[instance]] table (ForInstance); "" otherwise.
	Instance string  `toml:"-"`
	parent   *Config // the parent instance's configuration, for gate
	// hostStateDir is the host's state_dir of an instance's
	// configuration, whose paused.json pauses every instance.
	hostStateDir string
	// Customer names this server's customer: its customer fixes
	// (PRODUCT/BASE/custom/CUSTOMER) install after the vendor chain.
	Customer string `toml:"customer"`
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
	MinRate        int64    `toml:"min_rate"`       // bytes/s; a transfer slower than this over StallTime is aborted
	StallTime      Duration `toml:"stall_time"`     // the window min_rate is measured over
	IndexTimeout   Duration `toml:"index_timeout"`  // limit of one whole index, signature or repo.json
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
	f, err := openRegular(path)
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
	Repo          string         `toml:"repo"`
	Product       string         `toml:"product"`
	Root          string         `toml:"root"`
	VersionFile   string         `toml:"version_file"`
	Version       string         `toml:"version"`
	TrustedKeys   string         `toml:"trusted_keys"`
	Role          string         `toml:"role"`
	StateDir      string         `toml:"state_dir"`
	CacheDir      string         `toml:"cache_dir"`
	LogDir        string         `toml:"log_dir"`
	LockDir       string         `toml:"lock_dir"`
	ScriptTimeout string         `toml:"script_timeout"`
	Parts         []string       `toml:"parts"`
	Ring          string         `toml:"ring"`
	MachineID     string         `toml:"machine_id"`
	Schedule      fileSchedule   `toml:"schedule"`
	Pause         filePause      `toml:"pause"`
	Notify        fileNotify     `toml:"notify"`
	Hooks         fileHooks      `toml:"hooks"`
	Network       fileNetwork    `toml:"network"`
	Parallel      int64          `toml:"parallel"`
	Instance      []fileInstance `toml:"instance"`
	Cluster       fileCluster    `toml:"cluster"`
	Customer      string         `toml:"customer"`
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
	MetricsFile  string `toml:"metrics_file"`
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
	StallTime      string `toml:"stall_time"`
	IndexTimeout   string `toml:"index_timeout"`
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
		Ring:          repo.RingStable,
		Schedule:      fileSchedule{Cron: DefaultCron, DaysOfWeek: DefaultDaysOfWeek, RandomWait: "1h"},
		Pause:         filePause{ServiceWaitTime: "30m"},
		Notify:        fileNotify{MailReport: notify.MailOnChange},
		Hooks:         fileHooks{Timeout: "5m"},
		Cluster:       fileCluster{StaleAfter: DefaultStaleAfter},
		Network: fileNetwork{
			ConnectTimeout: "15s",
			MinRate:        DefaultMinRate,
			StallTime:      "30s",
			IndexTimeout:   "2m",
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
	"parts":                   `a list of optional part names, such as ["samples", "preset-data"]`,
	"ring":                    `"stable" or "testing"`,
	"machine_id":              `this server's id for staged rollouts, such as the 32 hex digits of /etc/machine-id`,
	"customer":                `the customer name the vendor uses for this server's customer fixes, such as "shop-a"`,
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
	"notify.metrics_file":     `an absolute path ending in .prom, such as "/var/lib/prometheus/node-exporter/hotfix.prom"`,
	"hooks":                   `a table: [hooks]`,
	"hooks.pre_install":       `a shell command string`,
	"hooks.post_install":      `a shell command string`,
	"hooks.health_check":      `a shell command string`,
	"hooks.timeout":           `a duration string, such as "5m"`,
	"network":                 `a table: [network]`,
	"network.connect_timeout": `a duration string, such as "15s"`,
	"network.min_rate":        `an integer number of bytes per second, such as 1024`,
	"network.stall_time":      `a duration string, such as "30s"`,
	"network.index_timeout":   `a duration string, such as "2m"`,
	"network.retries":         `an integer, such as 3`,
	"network.max_index_size":  `an integer number of bytes, such as 8388608`,
	"parallel":                `an integer number of instances, such as 4`,
	"instance":                `an array of tables: [[instance]]`,
	"instance.name":           `a name of letters, digits, '.', '_' and '-', such as "ref"`,
	"instance.root":           `an absolute path, such as "/opt/shop/ref"`,
	"instance.version_file":   `a path, such as "VERSION" (relative to the instance's root)`,
	"instance.parent":         `the name of another instance, such as "ref"`,
	"instance.role":           `"single", "primary" or "secondary"`,
	"cluster":                 `a table: [cluster]`,
	"cluster.shared_dir":      `an absolute path every node mounts, such as "/mnt/shared/hotfix"`,
	"cluster.stale_after":     `a duration string, such as "48h"`,
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
	f, err := openRegular(c.VersionFile)
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
