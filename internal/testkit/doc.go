// Package testkit holds helpers that the tests of several packages share:
// copying a tree with its modes, receiving webhook reports, a throwaway
// home for the real gpg, real servers (moto's S3, nginx) started on
// loopback and killed on cleanup, a second process of the test binary
// to hold a lock until it is killed (StartHelper), and a buffer a
// process may write while the test reads it (LockedBuffer). Only tests
// import it.
package testkit
