package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// The shared directory of a cluster: shared_dir/primary/INSTANCE.json
// (the level the primary committed, "_" naming the unnamed instance) and
// shared_dir/nodes/NODE.json (each node's last run). Every file is
// written whole and fsynced, then renamed (atomicfile), and has one
// writer: the primary its records, each node its own status. Nothing
// here takes a lock: flock over a network file system is not to be
// trusted, and none is needed when no file has two writers.
const (
	primaryDir = "primary"
	nodesDir   = "nodes"
	// maxSharedFile bounds a read from the shared directory, which other
	// machines write.
	maxSharedFile = 1 << 20
)

// ErrWaitingForPrimary means a cluster secondary held a fix back because
// the primary has not recorded it yet (exit 75: the next run tries
// again); see WaitingError.
var ErrWaitingForPrimary = errors.New("waiting for the primary")

// WaitingError holds a secondary's fix back until the primary has
// committed it.
type WaitingError struct {
	Instance string
	Primary  repo.Version // the primary's recorded level; zero: none yet
	Node     string       // the primary's node name, when known
	Next     repo.Version // the fix held back
}

func (e *WaitingError) Error() string {
	at := "primary at " + e.Primary.String()
	if e.Primary.IsZero() {
		at = "the primary has recorded no fix yet"
	} else if e.Node != "" {
		at = "primary " + e.Node + " at " + e.Primary.String()
	}
	return fmt.Sprintf("waiting for the primary (%s): fix %s goes onto this node only after the primary committed it", at, e.Next)
}

// Is makes errors.Is(err, ErrWaitingForPrimary) hold.
func (e *WaitingError) Is(target error) bool { return target == ErrWaitingForPrimary }

// PrimaryRecord is what the primary records per instance in shared_dir.
type PrimaryRecord struct {
	Node     string       `json:"node"`
	Instance string       `json:"instance"`
	Product  string       `json:"product"`
	Base     repo.Version `json:"base"`
	Level    repo.Version `json:"level"`
	At       time.Time    `json:"at"`
}

// NodeStatus is one node's file in shared_dir/nodes.
type NodeStatus struct {
	Node      string         `json:"node"`
	Role      string         `json:"role"`
	At        time.Time      `json:"at"` // end of its last run
	Outcome   string         `json:"outcome"`
	Instances []NodeInstance `json:"instances"`
}

// NodeInstance is one instance's level on a node.
type NodeInstance struct {
	Name  string       `json:"name"`
	Base  repo.Version `json:"base"`
	Level repo.Version `json:"level"`
}

func primaryPath(shared, instance string) string {
	if instance == "" {
		instance = "_"
	}
	return filepath.Join(shared, primaryDir, instance+".json")
}

// readShared decodes a file of the shared directory strictly, bounded
// and only if it is a regular file; found is false when it is missing.
func readShared(path string, v any) (found bool, err error) {
	f, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSharedFile+1))
	if err != nil {
		return true, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxSharedFile {
		return true, fmt.Errorf("read %s: larger than %d bytes: not a file hotfix wrote; remove it (the next run writes it again)", path, maxSharedFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return true, fmt.Errorf("read %s: %w: not a file hotfix wrote; remove it (the next run writes it again)", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return true, fmt.Errorf("read %s: data after the record: not a file hotfix wrote; remove it (the next run writes it again)", path)
	}
	return true, nil
}

// writeShared replaces path with v, fsynced (atomicfile), creating its
// directory.
func writeShared(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w (is [cluster] shared_dir mounted?)", path, err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w (is [cluster] shared_dir mounted and writable?)", path, err)
	}
	return nil
}

// primaryRecord is the primary's record for a secondary's instance, or
// nil when c is no cluster secondary. A missing record is a zero level.
func (c *Client) primaryRecord() (*PrimaryRecord, error) {
	if c.Cfg.Cluster.SharedDir == "" || c.Cfg.Role != RoleSecondary {
		return nil, nil
	}
	var rec PrimaryRecord
	if _, err := readShared(primaryPath(c.Cfg.Cluster.SharedDir, c.Cfg.Instance), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// recordPrimary records, on a cluster primary, that c's instance is at
// level v of base. A failure is logged, not returned: the fix is
// installed either way, and the record at the end of the run tries again.
func (c *Client) recordPrimary(base, v repo.Version) {
	if c.Cfg.Cluster.SharedDir == "" || c.Cfg.Role != RolePrimary || base.IsZero() || v.IsZero() {
		return
	}
	rec := PrimaryRecord{Node: c.Cfg.Notify.SystemName, Instance: c.Cfg.Instance, Product: c.Cfg.Product, Base: base, Level: v, At: c.Now().UTC()}
	if err := writeShared(primaryPath(c.Cfg.Cluster.SharedDir, c.Cfg.Instance), &rec); err != nil {
		c.Log.Error("the secondaries cannot see this fix yet", "fix", v, "err", err)
	}
}

// clusterProgress wraps an install's progress so that a cluster primary
// records each fix the moment it is committed.
func (c *Client) clusterProgress(next func(repo.Version, string), dryRun bool) func(repo.Version, string) {
	if dryRun || c.Cfg.Cluster.SharedDir == "" || c.Cfg.Role != RolePrimary {
		return next
	}
	return func(v repo.Version, step string) {
		if step == "done" {
			c.recordPrimary(v.Base(), v)
		}
		if next != nil {
			next(v, step)
		}
	}
}

// syncCluster records, after a run, the level the primary is at,
// installed or not (a primary that was up to date before it joined the
// cluster must let its secondaries go too), and this node's status when
// the configuration is one installation (a tree run writes the node's
// status for all its instances itself).
func (c *Client) syncCluster(runErr error) {
	if c.Cfg.Cluster.SharedDir == "" {
		return
	}
	base, err := c.Base()
	if err != nil {
		return
	}
	lv, err := recordedLevel(c)
	if err != nil {
		return
	}
	c.recordPrimary(base, lv)
	if c.Cfg.Instance == "" {
		ns := newNodeStatus(c.Cfg, c.Now(), runErr)
		ns.Instances = append(ns.Instances, NodeInstance{Base: base, Level: lv})
		if err := writeNodeStatus(c.Cfg, ns); err != nil {
			c.Log.Error("node status not written to shared_dir", "err", err)
		}
	}
}

// mayWait says whether a secondary held back by its primary should wait
// and try again: install --wait gave it time that has not run out.
func (t *Tree) mayWait(blocked error, opts InstallOptions) bool {
	return errors.Is(blocked, ErrWaitingForPrimary) && opts.LockWait > 0 && !t.deadline.IsZero() && t.Now().Before(t.deadline)
}

// pause waits PollEvery before the next look at the primary's record;
// it fails once the wait's deadline or ctx ends it.
func (t *Tree) pause(ctx context.Context, opts InstallOptions) error {
	every := t.PollEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	if left := t.deadline.Sub(t.Now()); left < every {
		every = max(left, 0)
	}
	timer := time.NewTimer(every)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	if !t.Now().Before(t.deadline) {
		return errors.New("wait ended")
	}
	return nil
}

func newNodeStatus(cfg *Config, now time.Time, runErr error) *NodeStatus {
	ns := &NodeStatus{Node: cfg.Notify.SystemName, Role: cfg.Role, At: now.UTC(), Outcome: "ok", Instances: []NodeInstance{}}
	var we *WaitingError
	switch {
	case errors.As(runErr, &we) && !hasOtherErrors(runErr):
		ns.Outcome = "waiting for the primary"
	case runErr != nil:
		ns.Outcome = "error: " + runErr.Error()
	}
	return ns
}

// hasOtherErrors says whether a tree run's error holds more than waits
// for the primary.
func hasOtherErrors(err error) bool {
	var te *TreeError
	if errors.As(err, &te) {
		for _, ie := range te.Errs {
			if !errors.Is(ie, ErrWaitingForPrimary) {
				return true
			}
		}
	}
	return false
}

// writeNodeStatus writes shared_dir/nodes/NODE.json.
func writeNodeStatus(cfg *Config, ns *NodeStatus) error {
	return writeShared(filepath.Join(cfg.Cluster.SharedDir, nodesDir, ns.Node+".json"), ns)
}

// writeNodeStatus writes this node's status after a tree run: every
// instance's base and level.
func (t *Tree) writeNodeStatus(runErr error) error {
	if t.Cfg.Cluster.SharedDir == "" {
		return nil
	}
	ns := newNodeStatus(t.Cfg, t.Now(), runErr)
	for _, in := range t.nodes() {
		cl, err := t.Client(in.Name)
		if err != nil {
			continue
		}
		base, err := cl.Base()
		if err != nil {
			continue
		}
		lv, _ := recordedLevel(cl)
		ns.Instances = append(ns.Instances, NodeInstance{Name: in.Name, Base: base, Level: lv})
	}
	return writeNodeStatus(t.Cfg, ns)
}

// ClusterNode is one node in ClusterStatus.
type ClusterNode struct {
	NodeStatus
	Behind []string `json:"behind"` // instances below the primary's recorded level
	Stale  bool     `json:"stale"`  // no report for longer than stale_after
	Error  string   `json:"error,omitempty"`
}

// ClusterStatus is what `hotfix cluster status` shows.
type ClusterStatus struct {
	SharedDir  string                   `json:"shared_dir"`
	StaleAfter string                   `json:"stale_after"`
	Primary    map[string]PrimaryRecord `json:"primary"` // by instance ("_": the unnamed one)
	Nodes      []ClusterNode            `json:"nodes"`
}

// errNoCluster means the configuration has no [cluster] shared_dir.
var errNoCluster = errors.New("no [cluster] shared_dir is configured")

// ReadClusterStatus reads every node's status and the primary's records
// from shared_dir, marking nodes behind the primary or stale as of now.
func ReadClusterStatus(cfg *Config, now time.Time) (*ClusterStatus, error) {
	shared := cfg.Cluster.SharedDir
	if shared == "" {
		return nil, fmt.Errorf("%w in %s", errNoCluster, cfg.Path)
	}
	out := &ClusterStatus{SharedDir: shared, StaleAfter: cfg.Cluster.StaleAfter.String(), Primary: map[string]PrimaryRecord{}, Nodes: []ClusterNode{}}
	recs, err := os.ReadDir(filepath.Join(shared, primaryDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w (is shared_dir mounted?)", shared, err)
	}
	for _, e := range recs {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		var rec PrimaryRecord
		if _, err := readShared(filepath.Join(shared, primaryDir, e.Name()), &rec); err != nil {
			return nil, err
		}
		out.Primary[name] = rec
	}
	nodes, err := os.ReadDir(filepath.Join(shared, nodesDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(shared, nodesDir), err)
	}
	for _, e := range nodes {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var cn ClusterNode
		if _, err := readShared(filepath.Join(shared, nodesDir, e.Name()), &cn.NodeStatus); err != nil {
			cn.Node, cn.Error = strings.TrimSuffix(e.Name(), ".json"), err.Error()
		}
		cn.Stale = cn.Error != "" || now.Sub(cn.At) > cfg.Cluster.StaleAfter.Duration
		cn.Behind = []string{}
		for _, in := range cn.Instances {
			key := in.Name
			if key == "" {
				key = "_"
			}
			if p, ok := out.Primary[key]; ok && in.Level.Compare(p.Level) < 0 {
				cn.Behind = append(cn.Behind, in.Name)
			}
		}
		out.Nodes = append(out.Nodes, cn)
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Node < out.Nodes[j].Node })
	return out, nil
}
