package client

// InstanceStatus is one instance in TreeStatus: its name, parent and
// root, a one-word state, and its Status as `status --json` gives it for
// a single installation.
type InstanceStatus struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Root   string `json:"root"`
	// State is "up to date", "pending", "paused", "interrupted" (a
	// transaction awaits "hotfix recover"), "locked" (an install runs)
	// or "error" (Error says what could not be read).
	State string `json:"state"`
	Error string `json:"error,omitempty"`
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
	for _, level := range levels {
		for _, in := range level {
			if !t.selected(in.Name) {
				continue
			}
			is := InstanceStatus{Name: in.Name, Parent: in.Parent, Root: in.Root}
			cl, err := t.client(in.Name)
			if err == nil {
				is.Status, err = cl.Status()
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

// WriteMetrics rewrites each instance's metrics file (metrics_file with
// -NAME before .prom), each series labelled hotfix_instance.
func (t *Tree) WriteMetrics() error {
	var errs []error
	for _, in := range t.nodes() {
		if !t.selected(in.Name) {
			continue
		}
		cl, err := t.client(in.Name)
		if err == nil {
			err = cl.WriteMetrics()
		}
		if err != nil {
			errs = append(errs, &InstanceError{Instance: in.Name, Err: err})
		}
	}
	return joinErrs(errs...)
}
