package procgroup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// EnvVar is the environment variable that marks every process a command
// starts; its value is the Group's ID.
const EnvVar = "HOTFIX_SCRIPT_ID"

// ErrStillRunning means processes of a group were still alive after
// SIGKILL and the wait for them: they are stuck in the kernel (a hung
// mount, say), and whatever they are writing may still land.
var ErrStillRunning = errors.New("processes still running after SIGKILL")

// Group identifies the processes one command started. ID and BootID are
// known before the command starts; PGID, SID and Start once it has.
type Group struct {
	Name   string `json:"name"`            // what ran, for messages
	ID     string `json:"id"`              // the value of EnvVar in the command's environment
	BootID string `json:"boot_id"`         // /proc/sys/kernel/random/boot_id when it ran
	PGID   int    `json:"pgid,omitempty"`  // the group the command leads
	SID    int    `json:"sid,omitempty"`   // the session it ran in
	Start  uint64 `json:"start,omitempty"` // the leader's start time, clock ticks after boot
}

// New returns the Group for a command about to start.
func New(name string) (Group, error) {
	boot, err := bootID()
	if err != nil {
		return Group{}, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Group{}, fmt.Errorf("mark the processes of %s: %w", name, err)
	}
	return Group{Name: name, ID: hex.EncodeToString(b[:]), BootID: boot}, nil
}

// Env is the environment entry that marks the group's processes.
func (g Group) Env() string { return EnvVar + "=" + g.ID }

// Started records the leader: pid, started with its own process group.
// The caller has not waited for it yet, so its /proc entry is there.
func (g *Group) Started(pid int) error {
	st, err := readStat(pid)
	if err != nil {
		return fmt.Errorf("identify the processes of %s: %w", g.Name, err)
	}
	g.PGID, g.SID, g.Start = st.pgrp, st.session, st.start
	return nil
}

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read the boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// stat is what Stop needs of /proc/PID/stat.
type stat struct {
	state               byte
	ppid, pgrp, session int
	start               uint64
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return stat{}, err
	}
	// The command name, in parentheses, may hold spaces and ')': the
	// fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// state ppid pgrp session ... starttime is the 20th after the name.
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var s stat
	s.state = f[0][0]
	var errs [4]error
	s.ppid, errs[0] = strconv.Atoi(f[1])
	s.pgrp, errs[1] = strconv.Atoi(f[2])
	s.session, errs[2] = strconv.Atoi(f[3])
	s.start, errs[3] = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// marked reports whether pid's environment (as it was at its exec)
// carries the group's mark. An unreadable environment is not ours to
// judge: another user's process, or one gone already.
func (g Group) marked(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	want := []byte(g.Env())
	for _, kv := range bytes.Split(b, []byte{0}) {
		if bytes.Equal(kv, want) {
			return true
		}
	}
	return false
}

// member reports whether the live process pid with stat s belongs to
// the group. inGroup says whether PGID may still name our group: false
// once the kernel gave the leader's pid to another process, which it
// does only after every member of our group is gone.
func (g Group) member(pid int, s stat, inGroup bool) bool {
	if pid == os.Getpid() || s.state == 'Z' || s.state == 'X' {
		return false
	}
	if inGroup && g.PGID > 0 && s.pgrp == g.PGID && s.session == g.SID && s.start >= g.Start {
		return true
	}
	return g.marked(pid)
}

// pgidOurs reports whether the process group id may still be ours: its
// leader is alive with the start time we recorded, or no process holds
// the pid at all (the leader died, members may live on).
func (g Group) pgidOurs() bool {
	if g.PGID <= 0 {
		return false
	}
	s, err := readStat(g.PGID)
	if err != nil {
		return true
	}
	return s.start == g.Start
}

// members lists the live processes of the group, nil after a reboot.
func (g Group) members() ([]int, error) {
	if g.ID == "" {
		return nil, nil
	}
	boot, err := bootID()
	if err != nil {
		return nil, err
	}
	if boot != g.BootID {
		return nil, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	inGroup := g.pgidOurs()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readStat(pid)
		if err != nil {
			continue // gone meanwhile
		}
		if g.member(pid, s, inGroup) {
			out = append(out, pid)
		}
	}
	return out, nil
}

// kill sends SIGKILL to pid through a pidfd opened before the process is
// checked again, so that a pid reused between the scan and the signal is
// never hit.
func (g Group) kill(pid int, inGroup bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone (or a kernel older than 5.3: the next round sees it again)
	}
	defer unix.Close(fd)
	s, err := readStat(pid)
	if err != nil || !g.member(pid, s, inGroup) {
		return
	}
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
}

// stopWait bounds how long Stop waits for killed processes to go.
const stopWait = 10 * time.Second

// Stop kills every live process of the group, round after round (a
// process may fork while we look), until none is left, and returns how
// many it killed. Processes still alive after stopWait give
// ErrStillRunning; ctx ending while some live gives its error.
func Stop(ctx context.Context, g Group) (int, error) {
	deadline := time.NewTimer(stopWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	killed := map[int]bool{}
	var stuck error
	// A process in the middle of execve can show an empty environ for an
	// instant, so one empty scan may miss a marked process: only two empty
	// scans a tick apart mean that none is left.
	empty := 0
	for {
		pids, err := g.members()
		if err != nil {
			return len(killed), fmt.Errorf("stop the processes of %s: %w", g.Name, err)
		}
		if len(pids) == 0 {
			if empty++; empty == 2 {
				return len(killed), nil
			}
		} else {
			empty = 0
		}
		if stuck != nil {
			if len(pids) == 0 {
				return len(killed), nil // gone by the deadline after all
			}
			return len(killed), fmt.Errorf("stop the processes of %s: %w: pids %v", g.Name, stuck, pids)
		}
		inGroup := g.pgidOurs()
		for _, pid := range pids {
			g.kill(pid, inGroup)
			killed[pid] = true
		}
		select {
		case <-ctx.Done():
			stuck = ctx.Err()
		case <-deadline.C:
			stuck = ErrStillRunning
		case <-tick.C:
		}
	}
}
