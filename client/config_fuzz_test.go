package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseConfig(f *testing.F) {
	shipped, err := os.ReadFile(filepath.Join("..", "packaging", "hotfix.toml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(shipped),
		fullConfig,
		minimalConfig,
		header + "[schedule]\ncron = \"TZ=UTC* * * * *\"\n",
		header + "[schedule]\ncron = \"CRON_TZ=UTC\"\n",
		header + "[schedule]\ncron = \"CRON_TZ=Nowhere/City 0 4 * * *\"\n",
		header + "[schedule]\ncron = \"0 0 30 2 *\"\n",
		header + "schedule = { cron = \"@every 1s\", days_of_week = \"0128\" }\n",
		header + "[notify]\nmail_to = [\"a@b.c\", 5, []]\n",
		header + "[[hooks]]\n",
		header + "ring = \"testing\"\nmachine_id = \"0123456789abcdef0123456789abcdef\"\n",
		header + "ring = \"Testing\"\nmachine_id = \"uninitialized\"\n",
		header + "machine_id = \"a\\u0000b\"\n",
		"repo = \"file://x\"\nroot = \"\"\n[sched]\n",
		instHeader + "parallel = 2\n[[instance]]\nname = \"a\"\nroot = \"/a\"\n[[instance]]\nname = \"b\"\nroot = \"/b\"\nparent = \"a\"\n",
		instHeader + "[[instance]]\nname = \"a\"\nroot = \"/a\"\nparent = \"b\"\n[[instance]]\nname = \"b\"\nroot = \"/a/b\"\nparent = \"a\"\n",
		instHeader + "instance = [{name = \"a\", root = \"/a\"}, {name = \"a\"}]\n",
		header + "role = \"primary\"\n[cluster]\nshared_dir = \"/mnt/s\"\nstale_after = \"1h\"\n",
		"= 1\n",
		"\xff",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.toml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Whatever is accepted must be usable as documented.
		if c.Repo == "" || c.Product == "" {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		if len(c.Instances) == 0 && (!filepath.IsAbs(c.Root) || (c.Version == "") == (c.VersionFile == "")) {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		for _, name := range c.InstanceNames() {
			d, err := c.ForInstance(name)
			if err != nil || !filepath.IsAbs(d.Root) || (d.Version == "") == (d.VersionFile == "") {
				t.Fatalf("accepted instance %q incomplete: %+v, %v", name, d, err)
			}
		}
		if _, err := levelsOf(c.Instances); err != nil {
			t.Fatalf("accepted a tree without levels: %v", err)
		}
		if c.Ring != "stable" && c.Ring != "testing" || c.MachineID != "" && checkMachineID(c.MachineID) != nil {
			t.Fatalf("accepted ring %q, machine_id %q", c.Ring, c.MachineID)
		}
		s, err := c.Schedule.Parse()
		if err != nil {
			t.Fatalf("accepted [schedule] %+v: %v", c.Schedule, err)
		}
		if s.Days == [7]bool{} {
			t.Fatalf("accepted days_of_week %q that allows no day", c.Schedule.DaysOfWeek)
		}
	})
}
