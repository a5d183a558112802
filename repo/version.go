package repo

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dotted decimal version such as 6.14.2 or 6.14.2.3.
// The zero Version is invalid.
type Version struct {
	parts []int
}

// maxVersionSegments bounds hostile input; real products use 3 to 5.
const maxVersionSegments = 16

// maxPartDigits bounds each part of a version.
const maxPartDigits = 9

// ParseVersion parses dotted decimal numbers ("6.14.2"). Leading zeros are
// refused so that every version has exactly one spelling: "6.014" and
// "6.14" would otherwise compare equal but name different files.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return Version{}, fmt.Errorf("empty version: want dotted numbers such as 6.14.2")
	}
	fields := strings.Split(s, ".")
	if len(fields) > maxVersionSegments {
		return Version{}, fmt.Errorf("version %q has more than %d parts", s, maxVersionSegments)
	}
	v := Version{parts: make([]int, len(fields))}
	for i, f := range fields {
		if f == "" || (len(f) > 1 && f[0] == '0') {
			return Version{}, fmt.Errorf("version %q: part %q is not a number without leading zeros (want dotted numbers such as 6.14.2)", s, f)
		}
		for _, c := range f {
			if c < '0' || c > '9' {
				return Version{}, fmt.Errorf("version %q: part %q is not a number (want dotted numbers such as 6.14.2)", s, f)
			}
		}
		// Nine digits keep every part an int on 32-bit systems and far
		// beyond any real release or fix number.
		if len(f) > maxPartDigits {
			return Version{}, fmt.Errorf("version %q: part %q is too large: at most %d digits (999999999)", s, f, maxPartDigits)
		}
		n, _ := strconv.Atoi(f)
		v.parts[i] = n
	}
	return v, nil
}

// MustParseVersion is for tests and constants only.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// IsZero reports whether v is the zero (invalid) Version.
func (v Version) IsZero() bool { return len(v.parts) == 0 }

func (v Version) String() string {
	var b strings.Builder
	for i, p := range v.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

// Compare returns -1, 0 or +1, comparing segment by segment as integers;
// a version that is a prefix of another sorts first (6.14 < 6.14.0).
func (v Version) Compare(o Version) int {
	for i := 0; i < len(v.parts) && i < len(o.parts); i++ {
		switch {
		case v.parts[i] < o.parts[i]:
			return -1
		case v.parts[i] > o.parts[i]:
			return 1
		}
	}
	switch {
	case len(v.parts) < len(o.parts):
		return -1
	case len(v.parts) > len(o.parts):
		return 1
	}
	return 0
}

// Equal reports whether v and o are the same version.
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// Base is the product version a fix belongs to: all but the last part.
func (v Version) Base() Version {
	if len(v.parts) < 2 {
		return Version{}
	}
	return Version{parts: v.parts[:len(v.parts)-1]}
}

// Seq is the fix number N of fix B.N.
func (v Version) Seq() int {
	if len(v.parts) == 0 {
		return 0
	}
	return v.parts[len(v.parts)-1]
}

// Fix returns B.n for base v.
func (v Version) Fix(n int) Version {
	p := make([]int, len(v.parts)+1)
	copy(p, v.parts)
	p[len(v.parts)] = n
	return Version{parts: p}
}

// Requires is what fix B.N needs installed first: B.(N-1), or B for B.1.
func (v Version) Requires() Version {
	b := v.Base()
	if v.Seq() <= 1 {
		return b
	}
	return b.Fix(v.Seq() - 1)
}

// ValidFixVersion insists on B.N with N ≥ 1 and a base of at least one
// part: the versions fixes have, as opposed to product versions.
func ValidFixVersion(v Version) error {
	if len(v.parts) < 2 {
		return fmt.Errorf("fix version %s needs a base and a fix number, such as 6.14.2.1", v)
	}
	if v.Seq() < 1 {
		return fmt.Errorf("fix version %s: the fix number must be 1 or more", v)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal empty version")
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
