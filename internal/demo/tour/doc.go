// Package tour plays the "hotfix demo" story on the embedded sample of
// package demo: the vendor generates a key, packs, adds, builds and serves a
// repository on loopback, and a sandboxed server checks, installs, shows its
// status and rolls back. Each step writes what it did and the command that
// would do it by hand. It lives apart from package demo because the tests
// of repo and client use the sample, and the tour uses repo and client.
package tour
