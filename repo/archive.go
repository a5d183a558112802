package repo

// Archive is what a build knows about one archive file of a channel (a
// .fix or an RPM fix package): the file and its digest, and what its
// manifest or header says of the fix. It is what the channel index and
// the pages are made from.
type Archive struct {
	File        string // file name in the channel directory
	Size        int64
	SHA256      string
	Product     string
	Version     Version
	Summary     string
	Description string
	Bugs        []Bug
	Severity    string
	// What the fix does to a root, for the pages: the paths it writes,
	// the paths it deletes and the scripts it runs.
	Files, Deleted, Scripts []string
	Parts                   []PartRef // nil when the fix has none
}

// DescribeManifest fills in what a manifest says of the fix.
func (a *Archive) DescribeManifest(m *Manifest) {
	a.Product, a.Version, a.Summary, a.Description, a.Bugs = m.Product, m.Version, m.Summary, m.Description, m.Bugs
	a.Severity, a.Deleted = m.Severity, m.Delete
	a.Files, a.Scripts = make([]string, len(m.Files)), make([]string, len(m.Scripts))
	for i, f := range m.Files {
		a.Files[i] = f.Path
	}
	for i, s := range m.Scripts {
		a.Scripts[i] = s.Path
	}
	a.Parts = m.PartRefs()
}

// IndexFix is the channel index's entry for the fix shipped as a, with
// rpm, if not nil, the RPM that accompanies it.
func (a *Archive) IndexFix(rpm *Archive) IndexFix {
	f := IndexFix{Version: a.Version, Requires: a.Version.Requires(), File: a.File,
		Size: a.Size, SHA256: a.SHA256, Summary: a.Summary, Bugs: []BugRef{}, Severity: a.Severity, Parts: a.Parts}
	for _, b := range a.Bugs {
		f.Bugs = append(f.Bugs, BugRef{ID: b.ID, Summary: b.Summary})
	}
	if rpm != nil {
		f.RPM = &RPMRef{File: rpm.File, Size: rpm.Size, SHA256: rpm.SHA256}
	}
	return f
}
