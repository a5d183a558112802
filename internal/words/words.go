package words

import "strconv"

// Count writes n with the singular or the plural noun: Count(1, "fix",
// "fixes") is "1 fix", Count(0, "fix", "fixes") "0 fixes".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
