// Package testkit holds helpers that the tests of several packages share:
// copying a tree with its modes and receiving webhook reports. Only tests
// import it.
package testkit
