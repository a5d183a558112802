// Package demo holds the embedded sample product "acme" 2.4.1 and its
// three chained fixes, used by "hotfix demo" and by tests that need a
// realistic fix source without files on disk. It imports nothing of ours,
// so that any package's tests can use it; the story "hotfix demo" plays on
// it lives in the subpackage tour.
package demo
