// Package words holds the small rules of English that every message of
// hotfix follows the same way: "1 fix", "2 fixes", never "1 fixes".
package words
