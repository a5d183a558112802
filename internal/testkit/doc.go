// Package testkit holds helpers that the tests of several packages share:
// copying a tree with its modes, receiving webhook reports, a throwaway
// home for the real gpg, and real servers (moto's S3, nginx) started on
// loopback and killed on cleanup. Only tests import it.
package testkit
