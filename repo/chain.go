package repo

import (
	"fmt"
	"strings"
)

// ChainError reports a channel that would not form one gap-free chain,
// or a published version whose content changed.
type ChainError struct {
	Product string
	Base    Version
	Missing []string // versions absent from the chain
	Changed []string // versions whose archive differs from the published one
	Other   string
}

func (e *ChainError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("chain has a gap: %s missing (add them too, or remove the later fixes)", strings.Join(e.Missing, ", ")))
	}
	if len(e.Changed) > 0 {
		parts = append(parts, fmt.Sprintf("%s already published with different content: a published version never changes; publish the change as the next fix version", strings.Join(e.Changed, ", ")))
	}
	if e.Other != "" {
		parts = append(parts, e.Other)
	}
	return fmt.Sprintf("%s %s: %s", e.Product, e.Base, strings.Join(parts, "; "))
}

// Failed reports whether e names any problem.
func (e *ChainError) Failed() bool {
	return len(e.Missing) > 0 || len(e.Changed) > 0 || e.Other != ""
}

// MissingFixes is the chain-gap rule: it lists the fixes of base that are
// absent from have below the highest one present, in order. A channel
// publishes only when this is empty.
func MissingFixes(base Version, have []Version) []string {
	present := map[int]bool{}
	highest := 0
	for _, v := range have {
		if v.Base().Equal(base) {
			present[v.Seq()] = true
			highest = max(highest, v.Seq())
		}
	}
	var gaps []string
	for n := 1; n <= highest; n++ {
		if !present[n] {
			gaps = append(gaps, base.Fix(n).String())
		}
	}
	return gaps
}
