package repo

import (
	"fmt"
	"sort"
	"strings"
)

// KindCustom is the kind of a customer fix: fix.toml's kind = "custom".
// A customer fix belongs to one customer, has an id (IS-1234) and its own
// dotted version, targets a base (and optionally a minimum vendor fix),
// and lives beside the vendor's chain, not in it.
const KindCustom = "custom"

// CustomDir is the directory under PRODUCT/BASE that holds the customers'
// channels: PRODUCT/BASE/custom/CUSTOMER/.
const CustomDir = "custom"

// maxSupersedes bounds the ids one customer fix may supersede.
const maxSupersedes = 256

// ValidCustomerName checks a customer name: the same portable rule as a
// product name, since it becomes a directory of every repository host.
func ValidCustomerName(s string) error {
	if err := ValidProductName(s); err != nil {
		return fmt.Errorf("customer: %s", strings.Replace(err.Error(), "product name", "customer name", 1))
	}
	return nil
}

// ValidCustomID checks a customer fix id such as IS-1234: letters, digits,
// '.', '-' and '_', starting with a letter or digit, at most 64
// characters. Ids become parts of file names.
func ValidCustomID(s string) error {
	if s == "" {
		return fmt.Errorf("empty customer fix id: use the ticket's id, such as IS-1234")
	}
	if len(s) > 64 {
		return fmt.Errorf("customer fix id %q is longer than 64 characters", s)
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("customer fix id %q: use letters, digits, '.', '-' and '_' (starting with a letter or digit)", s)
		}
	}
	return nil
}

// CustomArchiveName is the file name of a customer fix archive:
// PRODUCT-custom-ID-VERSION.fix.
func CustomArchiveName(product, id string, v Version) string {
	return product + "-custom-" + id + "-" + v.String() + ".fix"
}

// IsCustom reports whether the manifest is a customer fix's.
func (m *Manifest) IsCustom() bool { return m.Kind == KindCustom }

// ArchiveName is the file name of the manifest's .fix archive.
func (m *Manifest) ArchiveName() string {
	if m.IsCustom() {
		return CustomArchiveName(m.Product, m.ID, m.Version)
	}
	return ArchiveName(m.Product, m.Version)
}

// Name names the fix for people: "2.4.1.3", or "IS-1234 1.2 (customer
// shop-a)".
func (m *Manifest) Name() string {
	if m.IsCustom() {
		return fmt.Sprintf("customer fix %s %s (customer %s)", m.ID, m.Version, m.Customer)
	}
	return m.Version.String()
}

// Paths lists every path of the root the fix owns: what it ships under
// files/ and what it deletes, sorted.
func (m *Manifest) Paths() []string {
	out := make([]string, 0, len(m.Files)+len(m.Delete))
	for _, f := range m.Files {
		out = append(out, f.Path)
	}
	out = append(out, m.Delete...)
	sort.Strings(out)
	return out
}

// customTOML is what fix.toml adds for a customer fix; it is embedded in
// sourceTOML.
type customTOML struct {
	Kind       string   `toml:"kind"`
	Customer   string   `toml:"customer"`
	ID         string   `toml:"id"`
	Base       string   `toml:"base"`
	MinFix     string   `toml:"min_fix"`
	Supersedes []string `toml:"supersedes"`
}

// parseVersionFields fills in the version, base and requires of m from
// fix.toml, and for a customer fix its customer, id, minimum fix and
// superseded ids; add reports a problem at a key's line.
func (st *sourceTOML) parseVersionFields(m *Manifest, add func(table string, idx int, key string, format string, args ...any)) {
	c := st.customTOML
	switch c.Kind {
	case "", "vendor":
		for key, set := range map[string]bool{"customer": c.Customer != "", "id": c.ID != "", "base": c.Base != "", "min_fix": c.MinFix != "", "supersedes": c.Supersedes != nil} {
			if set {
				add("", 0, key, "%s: only a customer fix (kind = \"custom\") has it; a vendor fix's base is its version without the last part", key)
			}
		}
		if v, err := ParseVersion(st.Version); err != nil {
			add("", 0, "version", "version: %v", err)
		} else if err := ValidFixVersion(v); err != nil {
			add("", 0, "version", "version: %v", err)
		} else {
			m.Version, m.Base, m.Requires = v, v.Base(), v.Requires()
		}
		return
	case KindCustom:
	default:
		add("", 0, "kind", "kind %q: want \"custom\" for a customer fix, or no kind for a vendor fix", c.Kind)
		return
	}
	m.Kind, m.Customer, m.ID = KindCustom, c.Customer, c.ID
	if err := ValidCustomerName(c.Customer); err != nil {
		add("", 0, "customer", "%v", err)
	}
	if err := ValidCustomID(c.ID); err != nil {
		add("", 0, "id", "id: %v", err)
	}
	v, err := ParseVersion(st.Version)
	if err != nil {
		add("", 0, "version", "version: %v (a customer fix has its own version, such as 1 or 1.2)", err)
	}
	base, berr := ParseVersion(c.Base)
	if berr != nil {
		add("", 0, "base", "base: %v (the product version the customer runs, such as 2.4.1)", berr)
	}
	m.Version, m.Base, m.Requires = v, base, base
	if c.MinFix != "" && berr == nil {
		mf, err := ParseVersion(c.MinFix)
		if err == nil {
			err = checkMinFix(mf, base)
		}
		if err != nil {
			add("", 0, "min_fix", "min_fix: %v", err)
		} else {
			m.MinFix, m.Requires = &mf, mf
		}
	}
	seen := map[string]bool{}
	for _, id := range c.Supersedes {
		switch err := ValidCustomID(id); {
		case err != nil:
			add("", 0, "supersedes", "supersedes: %v", err)
		case id == c.ID:
			add("", 0, "supersedes", "supersedes: %q is this fix's own id (a newer version of an id replaces the older by itself)", id)
		case seen[id]:
			add("", 0, "supersedes", "supersedes: %q listed twice", id)
		}
		seen[id] = true
		m.Supersedes = append(m.Supersedes, id)
	}
	sort.Strings(m.Supersedes)
}

// checkMinFix insists that a customer fix's minimum fix is a fix of its base.
func checkMinFix(mf, base Version) error {
	if err := ValidFixVersion(mf); err != nil {
		return err
	}
	if !mf.Base().Equal(base) {
		return fmt.Errorf("%s is not a fix of base %s (want %s.N)", mf, base, base)
	}
	return nil
}

// validateVersionFields checks the version fields of a manifest by kind.
func (m *Manifest) validateVersionFields() error {
	if m.Version.IsZero() || m.Base.IsZero() || m.Requires.IsZero() {
		return fmt.Errorf("manifest: version, base and requires are required")
	}
	switch m.Kind {
	case "":
		if m.Customer != "" || m.ID != "" || m.MinFix != nil || m.Supersedes != nil {
			return fmt.Errorf("manifest: customer, id, min_fix and supersedes belong to customer fixes (kind %q)", KindCustom)
		}
		if err := ValidFixVersion(m.Version); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		if !m.Base.Equal(m.Version.Base()) {
			return fmt.Errorf("manifest: base %s does not match version %s (want %s)", m.Base, m.Version, m.Version.Base())
		}
		if !m.Requires.Equal(m.Version.Requires()) {
			return fmt.Errorf("manifest: fix %s must require %s, not %s", m.Version, m.Version.Requires(), m.Requires)
		}
		return nil
	case KindCustom:
	default:
		return fmt.Errorf("manifest: kind %q is not known to this hotfix: upgrade hotfix", m.Kind)
	}
	if err := ValidCustomerName(m.Customer); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := ValidCustomID(m.ID); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	want := m.Base
	if m.MinFix != nil {
		if err := checkMinFix(*m.MinFix, m.Base); err != nil {
			return fmt.Errorf("manifest: min_fix: %w", err)
		}
		want = *m.MinFix
	}
	if !m.Requires.Equal(want) {
		return fmt.Errorf("manifest: customer fix %s must require %s, not %s", m.ID, want, m.Requires)
	}
	return checkSupersedes(m.ID, m.Supersedes)
}

// checkSupersedes checks the ids a customer fix supersedes: valid, sorted,
// distinct, not its own.
func checkSupersedes(id string, list []string) error {
	if len(list) > maxSupersedes {
		return fmt.Errorf("customer fix %s supersedes more than %d fixes", id, maxSupersedes)
	}
	for i, s := range list {
		if err := ValidCustomID(s); err != nil {
			return fmt.Errorf("customer fix %s: supersedes: %w", id, err)
		}
		if s == id {
			return fmt.Errorf("customer fix %s supersedes itself", id)
		}
		if i > 0 && list[i-1] >= s {
			return fmt.Errorf("customer fix %s: supersedes is not sorted and distinct", id)
		}
	}
	return nil
}

// Supersede reports whether a customer fix with the supersedes list
// replaces the fix id.
func Supersede(list []string, id string) bool {
	for _, s := range list {
		if s == id {
			return true
		}
	}
	return false
}
