// Package testkit holds helpers that the tests of several packages share:
// copying a tree with its modes, receiving webhook reports, and a
// throwaway home for the real gpg. Only tests import it.
package testkit
