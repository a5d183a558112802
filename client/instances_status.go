package client

import "github.com/hotfix-project/hotfix/repo"

// InstanceStatus is one instance in TreeStatus: its name, parent and
// root, a one-word state, and its Status as `status --json` gives it for
// a single installation.
type InstanceStatus struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Root   string `json:"root"`
	// State is "up to date", "pending", "blocked" (fixes are pending
	// but its parent is not past its level; Blocked says so), "paused",
	// "interrupted" (a transaction awaits "hotfix recover"), "locked" (an
	// install runs) or "error" (Error says what could not be read).
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
	Blocked string `json:"blocked,omitempty"` // "blocked: parent X is at 2.4.1.2"
	*Status
}

// TreeStatus is `status` over the instances of a host.
type TreeStatus struct {
	Product   string           `json:"product"`
	Paused    *PauseInfo       `json:"paused"` // the host's pause (hotfix pause without --instance)
	Instances []InstanceStatus `json:"instances"`
}

// Status gathers every selected instance's local state, in tree order,
// without touching the network. An instance whose state cannot be read
// is listed with state "error" rather than hiding the others.
func (t *Tree) Status() (*TreeStatus, error) {
	out := &TreeStatus{Product: t.Cfg.Product, Instances: []InstanceStatus{}}
	host := &Client{Cfg: t.Cfg, Log: t.Log, Now: t.Now}
	p, err := host.Paused()
	if err != nil {
		return nil, err
	}
	out.Paused = p
	levels, err := levelsOf(t.nodes())
	if err != nil {
		return nil, err
	}
	levelOf := t.levelReader()
	for _, level := range levels {
		for _, in := range level {
			if !t.selected(in.Name) {
				continue
			}
			is := InstanceStatus{Name: in.Name, Parent: in.Parent, Root: in.Root}
			cl, err := t.Client(in.Name)
			if err == nil {
				is.Status, err = cl.Status()
			}
			var blocked *BlockedError
			if err == nil && is.Pending > 0 {
				blocked = blockedNow(in, is.Status, levelOf)
			}
			switch {
			case err != nil:
				is.State, is.Error = "error", err.Error()
			case is.Interrupted != nil:
				is.State = "interrupted"
			case is.Status.Paused != nil || out.Paused != nil:
				is.State = "paused"
			case is.Lock != nil:
				is.State = "locked"
			case blocked != nil:
				is.State, is.Blocked = OutcomeBlocked, blocked.Error()
			case is.Pending > 0:
				is.State = "pending"
			default:
				is.State = "up to date"
			}
			out.Instances = append(out.Instances, is)
		}
	}
	return out, nil
}

// blockedNow says why an instance with pending fixes cannot take the
// next one now: its parent is not past its level (the parent is behind,
// or its run failed), which no install of the child alone changes. A
// parent that cannot be read blocks too, for the install would refuse.
// levelOf reads the parent's recorded level (levelReader).
func blockedNow(in InstanceConfig, st *Status, levelOf func(name string) (repo.Version, error)) *BlockedError {
	if in.Parent == "" {
		return nil
	}
	be := &BlockedError{Instance: in.Name, Parent: in.Parent}
	plv, err := levelOf(in.Parent)
	if err != nil {
		be.Failed = true
		return be
	}
	lv, err := repo.ParseVersion(st.Level)
	if err != nil || plv.Compare(lv) > 0 {
		return nil // the parent is ahead: the child may follow
	}
	be.ParentLevel = plv
	return be
}

// levelReader reads an instance's recorded level (recordedLevel) the
// first time it is asked for it and answers from that read after: a
// parent's level is read once, however many of its children have
// fixes pending.
func (t *Tree) levelReader() func(name string) (repo.Version, error) {
	type read struct {
		lv  repo.Version
		err error
	}
	reads := map[string]read{}
	return func(name string) (repo.Version, error) {
		if r, ok := reads[name]; ok {
			return r.lv, r.err
		}
		var r read
		cl, err := t.Client(name)
		if err == nil {
			r.lv, r.err = recordedLevel(cl)
		} else {
			r.err = err
		}
		reads[name] = r
		return r.lv, r.err
	}
}

// WriteMetrics rewrites each instance's metrics file (metrics_file with
// -NAME before .prom), each series labelled hotfix_instance.
func (t *Tree) WriteMetrics() error {
	var errs []error
	for _, in := range t.nodes() {
		if !t.selected(in.Name) {
			continue
		}
		cl, err := t.Client(in.Name)
		if err == nil {
			err = cl.WriteMetrics()
		}
		if err != nil {
			errs = append(errs, &InstanceError{Instance: in.Name, Err: err})
		}
	}
	return joinErrs(errs...)
}
