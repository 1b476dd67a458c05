package leaks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Untracked is an object the operating system shows in the process that
// no resource of its registry stands for (untracked-resource).
type Untracked struct {
	// Type is the object's resource type: thread, file, socket or process.
	Type string
	// ID and Name are the object's in the OS snapshot (a proc: snapshot).
	ID, Name string
	// Detail says how the OS knows it: "fd 7", "tid 4243", "pid 4250".
	Detail string
}

// osObject is what the matching reads of a resource's metadata: the
// convention by which a registry resource names its OS object
// (docs/importers.md, "Reconciling").
type osObject struct {
	FD     *int   `json:"fd"`
	TID    *int   `json:"tid"`
	PID    *int   `json:"pid"`
	Path   string `json:"path"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	State  string `json:"state"`
}

func objectOf(r *snapshot.Resource) osObject {
	var o osObject
	if !r.Metadata.IsZero() {
		_ = json.Unmarshal(r.Metadata.Raw(), &o) // metadata of another shape names nothing
	}
	return o
}

// Reconcile compares a registry's snapshot (reg) with what the operating
// system shows of the same process (os, a proc: snapshot of its pid) and
// returns an untracked-resource finding for every thread, regular file,
// socket and child process the registry tracks no live resource for. A
// registry resource stands for an OS object when its metadata names it:
// metadata.fd (a descriptor), metadata.tid, metadata.pid, metadata.path
// (a file or unix socket), or metadata.local and metadata.remote (an
// inet socket; local alone for a listener). Left out: descriptors 0 to 2,
// devices and kernel files (/dev/, /proc/, /sys/); descriptors the runtime keeps for itself (pipes,
// epoll, eventfd and the like); the main thread; and threads altogether
// unless the registry tracks a thread with metadata.tid, since a runtime's
// own threads (Go's, for one) are no application's resources. serving are
// the addresses the registry itself is served on (a unix socket's path, a
// TCP host:port): the sockets of its own server are left out too.
func Reconcile(reg, os *snapshot.Index, serving ...string) []Finding {
	fds, tids, pids := map[int]bool{}, map[int]bool{}, map[int]bool{}
	paths, addrs, listens := map[string]bool{}, map[string]bool{}, map[string]bool{}
	own := map[string]bool{}
	for _, a := range serving {
		own[a] = true
	}
	threadsTracked := false
	for i := range reg.Snap.Resources {
		r := &reg.Snap.Resources[i]
		if !r.Live() {
			continue
		}
		o := objectOf(r)
		if o.FD != nil {
			fds[*o.FD] = true
		}
		if o.TID != nil {
			tids[*o.TID] = true
			threadsTracked = true
		}
		if o.PID != nil {
			pids[*o.PID] = true
		}
		if o.Path != "" {
			paths[o.Path] = true
		}
		if o.Local != "" {
			if o.Remote == "" {
				listens[o.Local] = true
			} else {
				addrs[o.Local+" "+o.Remote] = true
			}
		}
	}
	mainTID := int(os.Snap.Source.PID)
	var out []Finding
	var h sigHasher
	for i := range os.Snap.Resources {
		r := &os.Snap.Resources[i]
		if !r.Live() {
			continue
		}
		o := objectOf(r)
		var detail string
		switch r.Type {
		case snapshot.TypeThread:
			if !threadsTracked || o.TID == nil || *o.TID == mainTID || tids[*o.TID] || strings.HasPrefix(r.Name, serverThreadPrefix) {
				continue
			}
			detail = "tid " + strconv.Itoa(*o.TID)
		case snapshot.TypeProcess:
			if o.PID == nil || pids[*o.PID] {
				continue
			}
			detail = "pid " + strconv.Itoa(*o.PID)
		case snapshot.TypeFile:
			if o.FD == nil || *o.FD <= 2 || fds[*o.FD] || paths[o.Path] || systemFile(o.Path) {
				continue
			}
			detail = "fd " + strconv.Itoa(*o.FD)
		case snapshot.TypeSocket:
			if o.FD == nil || *o.FD <= 2 || fds[*o.FD] {
				continue
			}
			switch {
			case own[o.Path] || own[o.Local] || own[o.Remote]:
				continue // the registry's own server
			case o.Path != "" && paths[o.Path]:
				continue
			case o.Local != "" && (addrs[o.Local+" "+o.Remote] || listens[o.Local] && (o.State == "LISTEN" || o.Remote == "" || strings.HasSuffix(o.Remote, ":0"))):
				continue
			case o.Local == "" && o.Path == "":
				continue // an unnamed unix socket, netlink: the runtime's
			}
			detail = "fd " + strconv.Itoa(*o.FD)
		default:
			continue
		}
		name := r.DisplayName()
		fd := Finding{
			Rule: RuleUntrackedResource, Severity: SeverityWarning, Resource: -1, Component: -1,
			ResourceID: r.ID, Path: []string{},
			Untracked: &Untracked{Type: r.Type, ID: r.ID, Name: name, Detail: detail},
			Signature: h.sum(string(RuleUntrackedResource), "", "", r.Type, name, ""),
			Message: fmt.Sprintf("%s %s (%s) is open in the process, but the registry tracks no resource for it: track it, or give the resource that owns it metadata.%s",
				r.Type, strconv.Quote(name), detail, untrackedHint(r.Type)),
		}
		out = append(out, fd)
	}
	return out
}

// systemFile reports the devices and kernel files a runtime or the C
// library keeps open (a Go program reads its cgroup's CPU quota from
// /sys/fs/cgroup): none is an application's resource.
func systemFile(path string) bool {
	for _, p := range []string{"/dev/", "/proc/", "/sys/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// serverThreadPrefix starts the OS name of an attach server's own threads,
// by convention (docs/importers.md, "Reconciling"): the Python server names
// its threads rescoord-serve, rescoord-conn, rescoord-cleanup.
const serverThreadPrefix = "rescoord-"

// untrackedHint names the metadata field that would have matched.
func untrackedHint(typ string) string {
	switch typ {
	case snapshot.TypeThread:
		return "tid"
	case snapshot.TypeProcess:
		return "pid"
	case snapshot.TypeSocket:
		return "fd (or local and remote)"
	}
	return "fd (or path)"
}
