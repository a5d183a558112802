package client

import (
	"errors"
	"strings"
	"testing"
)

const instHeader = `repo = "https://fixes.example.com/"
product = "shop"
version_file = "VERSION"
state_dir = "/srv/state"
log_dir = "/srv/log"
lock_dir = "/run/hf"
cache_dir = "/srv/cache"
`

func TestParseConfigInstances(t *testing.T) {
	src := instHeader + `parallel = 3
role = "primary"

[notify]
metrics_file = "/var/lib/node/hotfix.prom"

[[instance]]
name = "ref"
root = "/opt/x3/ref"

[[instance]]
name = "live"
root = "/opt/x3/live/"
parent = "ref"
version_file = "/etc/live.version"
role = "single"
`
	c, err := ParseConfig("x.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Parallel != 3 || c.Workers() != 3 || len(c.Instances) != 2 || c.Root != "" {
		t.Fatalf("parsed %+v", c)
	}
	ref, live := c.Instances[0], c.Instances[1]
	if ref.Name != "ref" || ref.Root != "/opt/x3/ref" || ref.VersionFile != "/opt/x3/ref/VERSION" || ref.Role != RolePrimary || ref.Parent != "" || ref.Line != 14 {
		t.Errorf("ref = %+v", ref)
	}
	if live.Root != "/opt/x3/live" || live.Parent != "ref" || live.VersionFile != "/etc/live.version" || live.Role != RoleSingle {
		t.Errorf("live = %+v", live)
	}
	d, err := c.ForInstance("live")
	if err != nil {
		t.Fatal(err)
	}
	if d.Root != "/opt/x3/live" || d.StateDir != "/srv/state/instances/live" || d.LogDir != "/srv/log/instances/live" ||
		d.LockDir != "/run/hf/instances/live" || d.CacheDir != "/srv/cache/instances/live" || d.Instance != "live" ||
		d.Notify.MetricsFile != "/var/lib/node/hotfix-live.prom" || len(d.Instances) != 0 {
		t.Errorf("ForInstance(live) = %+v", d)
	}
	if _, err := c.ForInstance("nope"); err == nil || !strings.Contains(err.Error(), "instances: ref, live") {
		t.Errorf("ForInstance(nope) = %v", err)
	}
	// Without [[instance]] tables the unnamed instance is the config itself.
	one, err := ParseConfig("y.toml", []byte(header))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := one.ForInstance(""); err != nil || d != one || one.Workers() < 1 || one.Cluster.SharedDir != "" {
		t.Errorf("single ForInstance = %v, %v", d, err)
	}
}

func TestParseConfigInstanceErrors(t *testing.T) {
	inst := func(body string) string { return instHeader + body }
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"no root anywhere", "repo = \"https://x.example/\"\nproduct = \"shop\"\nversion_file = \"V\"\n",
			[]string{"x.toml: root: required", "[[instance]]"}},
		{"instance without name", inst("[[instance]]\nroot = \"/a\"\n"),
			[]string{"x.toml:8: instance.name: required"}},
		{"bad name", inst("[[instance]]\nname = \"../up\"\nroot = \"/a\"\n"),
			[]string{`x.toml:9: instance.name: "../up": want a name of letters`}},
		{"duplicate name", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\n[[instance]]\nname = \"a\"\nroot = \"/b\"\n"),
			[]string{`x.toml:12: instance.name: "a" is the name of the instance on line 8 too`}},
		{"no root", inst("[[instance]]\nname = \"a\"\n"),
			[]string{"x.toml:8: instance.root: required"}},
		{"relative root", inst("[[instance]]\nname = \"a\"\nroot = \"opt/a\"\n"),
			[]string{`x.toml:10: instance.root: "opt/a" is relative`}},
		{"root slash", inst("[[instance]]\nname = \"a\"\nroot = \"/\"\n"),
			[]string{`x.toml:10: instance.root: "/": an installation's root must be a directory of its own`}},
		{"same root", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\n[[instance]]\nname = \"b\"\nroot = \"/a/\"\n"),
			[]string{`x.toml:11: instance.root: /a is the root of instance "a" (line 8) too`}},
		{"nested root", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\n[[instance]]\nname = \"b\"\nroot = \"/a/b\"\n"),
			[]string{`x.toml:11: instance.root: /a/b and the root of instance "a" (line 8), /a, lie one inside the other`}},
		{"unknown parent", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\nparent = \"ref\"\n"),
			[]string{`x.toml:8: instance.parent: "ref" (instance "a") is not the name of any [[instance]]`}},
		{"own parent", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\nparent = \"a\"\n"),
			[]string{`x.toml:11: instance.parent: instance "a" cannot be its own parent`}},
		{"cycle", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\nparent = \"b\"\n[[instance]]\nname = \"b\"\nroot = \"/b\"\nparent = \"a\"\n"),
			[]string{`x.toml:8: instance.parent: instance "a" is its own ancestor (parent chain a → b → a)`, `x.toml:12: instance.parent: instance "b" is its own ancestor`}},
		{"bad role", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\nrole = \"boss\"\n"),
			[]string{`x.toml:11: instance.role: "boss" is not one of`}},
		{"no version file", "repo = \"https://x.example/\"\nproduct = \"shop\"\n[[instance]]\nname = \"a\"\nroot = \"/a\"\n",
			[]string{"x.toml:3: instance.version_file: required"}},
		{"unknown instance key", inst("[[instance]]\nname = \"a\"\nroot = \"/a\"\nparnet = \"b\"\n"),
			[]string{"x.toml:11: instance.parnet: unknown key"}},
		{"parallel zero", inst("parallel = 0\n[[instance]]\nname = \"a\"\nroot = \"/a\"\n"),
			[]string{"x.toml:8: parallel: 0 is out of range 1 to 1024"}},
		{"parallel type", inst("parallel = \"4\"\n"),
			[]string{"x.toml:8: parallel: wrong type"}},
		{"cluster on a single", header + "[cluster]\nshared_dir = \"/mnt/s\"\n",
			[]string{`x.toml:6: cluster.shared_dir: a cluster node needs role = "primary"`}},
		{"cluster relative", header + "role = \"primary\"\n[cluster]\nshared_dir = \"mnt/s\"\n",
			[]string{`x.toml:7: cluster.shared_dir: "mnt/s" is relative`}},
		{"cluster empty", header + "role = \"primary\"\n[cluster]\nshared_dir = \"\"\n",
			[]string{`x.toml:7: cluster.shared_dir: empty`}},
		{"cluster stale", header + "role = \"primary\"\n[cluster]\nshared_dir = \"/mnt/s\"\nstale_after = \"0\"\n",
			[]string{`x.toml:8: cluster.stale_after: "0": a timeout must be more than 0`}},
		{"cluster node name", header + "role = \"primary\"\n[notify]\nsystem_name = \"web 01\"\n[cluster]\nshared_dir = \"/mnt/s\"\n",
			[]string{`x.toml:7: notify.system_name: "web 01": want`, "shared_dir/nodes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x.toml", []byte(tc.src))
			if err == nil {
				t.Fatal("accepted")
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

func TestParseConfigCluster(t *testing.T) {
	c, err := ParseConfig("x.toml", []byte(header+"role = \"secondary\"\n[notify]\nsystem_name = \"web02\"\n[cluster]\nshared_dir = \"/mnt/s/\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.SharedDir != "/mnt/s" || c.Cluster.StaleAfter.Duration.Hours() != 48 {
		t.Errorf("cluster = %+v", c.Cluster)
	}
}
