package client

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// DefaultStaleAfter is how long a cluster node may go without reporting
// before `hotfix cluster status` marks it stale: a nightly schedule
// reports once a day, so two days means one missed night.
const DefaultStaleAfter = "48h"

// InstanceConfig is one [[instance]] table: an installation of the
// product on this host. Keys it does not set come from the top level.
type InstanceConfig struct {
	Name        string
	Root        string
	VersionFile string // absolute; "" when Version is set
	Version     string // the top-level literal base, when the instance has no version_file of its own
	Parent      string // "" for a top-level instance
	Role        string
	Line        int // of its [[instance]] header, for messages
}

// Cluster is the [cluster] table: the directory every node of a cluster
// mounts, where the primary records the fixes it committed and each node
// its own status.
type Cluster struct {
	SharedDir  string   // "" when this host is no cluster node
	StaleAfter Duration // a node silent longer than this is stale
}

type fileInstance struct {
	Name        string `toml:"name"`
	Root        string `toml:"root"`
	VersionFile string `toml:"version_file"`
	Parent      string `toml:"parent"`
	Role        string `toml:"role"`
}

type fileCluster struct {
	SharedDir  string `toml:"shared_dir"`
	StaleAfter string `toml:"stale_after"`
}

// root checks the top-level root: required unless [[instance]] tables
// give each installation its own.
func (v *validator) root(fc *fileConfig) string {
	if fc.Root == "" && len(fc.Instance) > 0 {
		return ""
	}
	return v.absPath("root", fc.Root, `required: set the product's install root, such as root = "/opt/shop" (or one [[instance]] table per installation)`)
}

// instances checks parallel, the [[instance]] tables and [cluster], and
// fills them into c.
func (v *validator) instances(fc *fileConfig, c *Config) {
	if v.set("parallel") {
		c.Parallel = int(v.number("parallel", fc.Parallel, 1, 1024))
	}
	c.Cluster = v.cluster(fc, c)
	if len(fc.Instance) == 0 {
		return
	}
	byName := map[string]int{}
	for i := range fc.Instance {
		in := v.instance(fc, c, i)
		if in.Name == "" {
			continue
		}
		if j, dup := byName[in.Name]; dup {
			v.failAt(i, "name", "%q is the name of the instance on line %d too: each instance needs its own name", in.Name, c.Instances[j].Line)
			continue
		}
		byName[in.Name] = len(c.Instances)
		c.Instances = append(c.Instances, in)
	}
	for i, in := range c.Instances {
		if in.Parent == "" {
			continue
		}
		if _, ok := byName[in.Parent]; !ok {
			v.failLine(in.Line, "instance.parent", "%q (instance %q) is not the name of any [[instance]]: want %s", in.Parent, in.Name, knownKeys["instance.parent"])
			c.Instances[i].Parent = ""
		}
	}
	v.instanceCycles(c.Instances, byName)
	v.instanceRoots(c.Instances)
}

// instance checks the i-th [[instance]] table.
func (v *validator) instance(fc *fileConfig, c *Config, i int) InstanceConfig {
	fi := fc.Instance[i]
	in := InstanceConfig{Name: fi.Name, Parent: fi.Parent, Role: c.Role, Line: v.lines["instance."+strconv.Itoa(i)]}
	if err := validInstanceName(fi.Name); err != nil {
		v.failAt(i, "name", "%v", err)
		in.Name = ""
	}
	root := fi.Root
	if root == "" {
		v.failAt(i, "root", `required: set this installation's root, such as root = "/opt/shop/ref"`)
	} else if in.Root = v.absPathAt(i, "root", root); in.Root == "/" {
		v.failAt(i, "root", `%q: an installation's root must be a directory of its own`, root)
	}
	if fi.Role != "" {
		in.Role = v.oneOfAt(i, "role", fi.Role, RoleSingle, RolePrimary, RoleSecondary)
	}
	if fi.Parent != "" && fi.Parent == fi.Name {
		v.failAt(i, "parent", "instance %q cannot be its own parent", fi.Name)
		in.Parent = ""
	}
	vf := fi.VersionFile
	switch {
	case vf == "" && fc.VersionFile == "" && fc.Version == "":
		v.failAt(i, "version_file", `required: set version_file in this [[instance]] (such as version_file = "VERSION", relative to its root) or at the top level`)
	case vf == "" && fc.VersionFile == "":
		in.Version = fc.Version
	case vf == "":
		vf = fc.VersionFile
		fallthrough
	default:
		if bad := badPathChar(vf); bad != "" {
			v.failAt(i, "version_file", "%q %s", vf, bad)
		} else if filepath.IsAbs(vf) {
			in.VersionFile = filepath.Clean(vf)
		} else if in.Root != "" {
			in.VersionFile = filepath.Join(in.Root, vf)
		}
	}
	return in
}

// instanceCycles refuses a chain of parents that comes back on itself:
// such instances would have no first level.
func (v *validator) instanceCycles(ins []InstanceConfig, byName map[string]int) {
	for i, in := range ins {
		seen := map[string]bool{in.Name: true}
		for p := in.Parent; p != ""; p = ins[byName[p]].Parent {
			if p == in.Name {
				v.failLine(in.Line, "instance.parent", "instance %q is its own ancestor (parent chain %s): the tree needs a top", in.Name, parentChain(ins, byName, i))
				break
			}
			if seen[p] {
				break // a cycle above this instance, reported for its own members
			}
			seen[p] = true
		}
	}
}

func parentChain(ins []InstanceConfig, byName map[string]int, i int) string {
	chain := []string{ins[i].Name}
	for p := ins[i].Parent; p != "" && len(chain) <= len(ins); p = ins[byName[p]].Parent {
		chain = append(chain, p)
		if p == ins[i].Name {
			break
		}
	}
	return strings.Join(chain, " → ")
}

// instanceRoots refuses two instances on one root, or one inside
// another: a fix applied to the outer one would write into the inner one
// behind its journal's back.
func (v *validator) instanceRoots(ins []InstanceConfig) {
	for i, a := range ins {
		for _, b := range ins[:i] {
			if a.Root == "" || b.Root == "" {
				continue
			}
			switch {
			case a.Root == b.Root:
				v.failLine(a.Line, "instance.root", "%s is the root of instance %q (line %d) too: each installation needs its own root", a.Root, b.Name, b.Line)
			case nestedPath(a.Root, b.Root) || nestedPath(b.Root, a.Root):
				v.failLine(a.Line, "instance.root", "%s and the root of instance %q (line %d), %s, lie one inside the other: give each installation a directory of its own", a.Root, b.Name, b.Line, b.Root)
			}
		}
	}
}

func nestedPath(inner, outer string) bool {
	return strings.HasPrefix(inner, strings.TrimSuffix(outer, "/")+"/")
}

// cluster checks [cluster].
func (v *validator) cluster(fc *fileConfig, c *Config) Cluster {
	if fc.Cluster.SharedDir == "" {
		if v.set("cluster.shared_dir") {
			v.fail("cluster.shared_dir", "empty: want %s, or remove [cluster]", knownKeys["cluster.shared_dir"])
		}
		return Cluster{}
	}
	cl := Cluster{
		SharedDir:  v.dataDir("cluster.shared_dir", fc.Cluster.SharedDir, "/mnt/shared/hotfix"),
		StaleAfter: v.duration("cluster.stale_after", fc.Cluster.StaleAfter, true),
	}
	if c.Role == RoleSingle {
		v.fail("cluster.shared_dir", `a cluster node needs role = "primary" (installs first) or role = "secondary" (waits for the primary) at the top level; role is %q`, c.Role)
	}
	if err := validNodeName(c.Notify.SystemName); err != nil {
		v.fail("notify.system_name", "%v: in a cluster it names this node's status file in shared_dir/nodes", err)
	}
	return cl
}

// validInstanceName keeps names usable as a directory name and a metric
// label, and unmistakable in messages.
func validInstanceName(s string) error {
	if s == "" {
		return fmt.Errorf(`required: give the instance a name, such as name = "ref"`)
	}
	if len(s) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("%q: want %s, starting with a letter or digit", s, knownKeys["instance.name"])
		}
	}
	return nil
}

// validNodeName is the same rule for a cluster node's name.
func validNodeName(s string) error { return validInstanceName(s) }

// failAt reports a problem with key in the i-th [[instance]] table, at
// its own line (or the table's header when the key is missing).
func (v *validator) failAt(i int, key, format string, args ...any) {
	line, ok := v.lines["instance."+strconv.Itoa(i)+"."+key]
	if !ok {
		line = v.lines["instance."+strconv.Itoa(i)]
	}
	v.failLine(line, "instance."+key, format, args...)
}

func (v *validator) failLine(line int, key, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Path: v.path, Line: line, Key: key, Err: fmt.Errorf(format, args...)})
}

func (v *validator) absPathAt(i int, key, s string) string {
	switch {
	case badPathChar(s) != "":
		v.failAt(i, key, "%q %s", s, badPathChar(s))
	case !filepath.IsAbs(s):
		v.failAt(i, key, "%q is relative: want %s", s, knownKeys["instance."+key])
	default:
		return filepath.Clean(s)
	}
	return ""
}

func (v *validator) oneOfAt(i int, key, s string, allowed ...string) string {
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v.failAt(i, key, "%q is not one of %s", s, knownKeys["instance."+key])
	return ""
}

// Workers is how many instances of one level a run installs at once:
// parallel, or the number of cores when it is not set.
func (c *Config) Workers() int {
	if c.Parallel > 0 {
		return c.Parallel
	}
	return max(1, runtime.NumCPU())
}

// instanceDir is where an instance keeps its own files below one of the
// top-level directories.
func instanceDir(top, name string) string { return filepath.Join(top, "instances", name) }

// ForInstance returns the configuration of the named [[instance]]: its
// root, base and role, and state, cache, logs and locks of its own below
// the top-level directories (DIR/instances/NAME), so that every
// per-root operation works on it unchanged. With no [[instance]] tables
// the one unnamed instance is c itself, state where it always was.
func (c *Config) ForInstance(name string) (*Config, error) {
	if len(c.Instances) == 0 && name == "" {
		return c, nil
	}
	for _, in := range c.Instances {
		if in.Name != name {
			continue
		}
		d := *c
		d.Instances, d.Instance, d.hostStateDir = nil, in.Name, c.StateDir
		if in.Parent != "" {
			p, err := c.ForInstance(in.Parent) // no cycles: validated
			if err != nil {
				return nil, err
			}
			d.parent = p
		}
		d.Root, d.VersionFile, d.Version, d.Role = in.Root, in.VersionFile, in.Version, in.Role
		d.StateDir = instanceDir(c.StateDir, in.Name)
		d.CacheDir = instanceDir(c.CacheDir, in.Name)
		d.LogDir = instanceDir(c.LogDir, in.Name)
		d.LockDir = instanceDir(c.LockDir, in.Name)
		if mf := c.Notify.MetricsFile; mf != "" {
			// node_exporter reads every *.prom of its directory: one
			// file per instance, each series labelled hotfix_instance.
			d.Notify.MetricsFile = strings.TrimSuffix(mf, ".prom") + "-" + in.Name + ".prom"
		}
		return &d, nil
	}
	return nil, fmt.Errorf("%q is not an instance of %s (instances: %s)", name, c.Path, strings.Join(c.InstanceNames(), ", "))
}

// InstanceNames lists the [[instance]] names in file order.
func (c *Config) InstanceNames() []string {
	var out []string
	for _, in := range c.Instances {
		out = append(out, in.Name)
	}
	return out
}

// hostPaused is the host's pause (state_dir/paused.json, what "hotfix
// pause" without --instance writes), which holds off every instance.
func (c *Client) hostPaused() (*PauseInfo, error) {
	if c.Cfg.hostStateDir == "" {
		return nil, nil
	}
	host := &Client{Cfg: &Config{StateDir: c.Cfg.hostStateDir}, Log: c.Log, Now: c.Now}
	return host.pausedHere()
}
