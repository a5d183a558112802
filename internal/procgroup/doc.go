// Package procgroup runs a command so that nothing it starts can outlive
// it: the command leads its own process group, every process it starts
// carries a random mark in its environment, and Stop kills, until none is
// left, every process of the group and every process bearing the mark.
//
// A Group is what identifies those processes, in a form that can be
// written down (in a transaction's journal) and used by another hotfix
// process after a crash: the boot id (after a reboot nothing of the group
// is left), the process group id with its session and the leader's start
// time (so that a pid the kernel gave to an unrelated process since is
// never taken for ours), and the mark.
//
// What it cannot catch without a cgroup: a descendant that both leaves
// the process group (setsid, setpgid) and drops the mark from its
// environment (env -i, an exec with a fresh environment). Processes that a
// command asks a service manager to start (systemctl, service) are not its
// descendants and are left alone, as they should be.
package procgroup
