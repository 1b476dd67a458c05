package procsnap

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/rescoord/rescoord/internal/safeid"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// sock is what the net tables say of one socket inode.
type sock struct {
	proto  string // tcp, tcp6, udp, udp6, unix
	local  string
	remote string
	state  string
	path   string // unix
	kind   string // unix: stream, dgram, seqpacket
}

// fds adds a resource per open file descriptor. Its id and name come from
// what the descriptor points at, never from its number, which the process
// reuses: the same file open twice is PATH and PATH#2 (docs/importers.md).
func (r *reader) fds(s *snapshot.Snapshot) error {
	nums, err := r.list(r.dir+"/fd", "file descriptors", r.opts.MaxFDs)
	if err != nil {
		return err
	}
	fdDir := r.dir + "/fd/"
	infoDir := r.dir + "/fdinfo/"
	type opened struct {
		fd     int
		target string
	}
	list := make([]opened, 0, len(nums))
	wantNet := false
	for i, fd := range nums {
		if i%256 == 0 && r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		n := strconv.Itoa(fd)
		t, err := os.Readlink(fdDir + n)
		if errors.Is(err, fs.ErrNotExist) {
			continue // closed meanwhile
		}
		if errors.Is(err, fs.ErrPermission) {
			return &PermissionError{PID: r.pid, What: "file descriptors", Err: syscall.EACCES}
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(t, "socket:[") {
			wantNet = true
		}
		list = append(list, opened{fd, t})
	}
	var socks map[uint64]*sock
	if wantNet {
		socks = r.netTables()
	}
	ids := newIDs(len(list))
	for i, o := range list {
		if i%256 == 0 && r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		res := describe(o.target, socks)
		md := map[string]any{"fd": o.fd, "target": bounded(o.target)}
		for k, v := range res.meta {
			md[k] = v
		}
		if info, err := r.readFile(infoDir+strconv.Itoa(o.fd), maxSmallFile); err == nil {
			fdinfo(info, md)
		}
		id := ids.next(safeid.Escape(res.id))
		s.Resources = append(s.Resources, snapshot.Resource{
			ID: id, Type: res.typ, Owner: RootID, Name: res.name, State: snapshot.StateActive,
			Running:  res.typ == snapshot.TypeTimer && md["armed"] == true,
			Metadata: raw(md),
		})
	}
	return nil
}

// idSet hands out unique ids: a base the first time, then BASE#2, BASE#3…
// skipping any already handed out (a file may be named "x#2").
type idSet struct {
	used map[string]bool
	n    map[string]int
}

func newIDs(n int) *idSet { return &idSet{used: make(map[string]bool, n), n: make(map[string]int, n)} }

func (s *idSet) next(base string) string {
	id := base
	for s.used[id] {
		s.n[base]++
		id = base + "#" + strconv.Itoa(s.n[base]+1)
	}
	s.used[id] = true
	return id
}

type fdRes struct {
	id, typ, name string
	meta          map[string]any
}

// describe classifies a descriptor by its readlink target.
func describe(t string, socks map[uint64]*sock) fdRes {
	switch {
	case strings.HasPrefix(t, "socket:["):
		ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(t, "socket:["), "]"), 10, 64)
		sk := socks[ino]
		if sk == nil {
			// netlink, packet, a socket of another namespace…
			return fdRes{id: "socket/other", typ: snapshot.TypeSocket, name: "socket",
				meta: map[string]any{"protocol": "other", "inode": ino}}
		}
		m := map[string]any{"protocol": sk.proto, "inode": ino}
		if sk.proto == "unix" {
			m["kind"] = sk.kind
			name := "unix " + sk.kind
			if sk.path != "" {
				m["path"] = sk.path
				name += " " + sk.path
			}
			return fdRes{id: "unix/" + sk.kind + "/" + sk.path, typ: snapshot.TypeSocket, name: name, meta: m}
		}
		m["local"], m["remote"], m["state"] = sk.local, sk.remote, sk.state
		name := sk.proto + " " + sk.local
		if sk.state == "LISTEN" {
			name += " listen"
		} else if !strings.HasSuffix(sk.remote, ":0") {
			name += " → " + sk.remote
		}
		return fdRes{id: sk.proto + "/" + sk.local + "/" + sk.remote, typ: snapshot.TypeSocket, name: name, meta: m}
	case strings.HasPrefix(t, "pipe:["):
		ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(t, "pipe:["), "]"), 10, 64)
		return fdRes{id: "pipe/" + strconv.FormatUint(ino, 10), typ: "pipe", name: "pipe", meta: map[string]any{"inode": ino}}
	case strings.HasPrefix(t, "anon_inode:"):
		kind := strings.Trim(strings.TrimPrefix(t, "anon_inode:"), "[]")
		typ := kind
		switch kind {
		case "timerfd":
			typ = snapshot.TypeTimer
		case "eventfd", "inotify", "eventpoll", "signalfd", "pidfd", "io_uring", "bpf-map", "bpf-prog", "perf_event", "userfaultfd", "fanotify", "dmabuf", "sync_file":
		default:
			typ = "anon_inode"
		}
		return fdRes{id: "anon/" + kind, typ: typ, name: kind}
	case strings.HasPrefix(t, "/memfd:"):
		name := strings.TrimSuffix(strings.TrimPrefix(t, "/memfd:"), " (deleted)")
		return fdRes{id: "memfd/" + name, typ: "memfd", name: "memfd:" + name}
	}
	return fdRes{id: "file/" + t, typ: snapshot.TypeFile, name: t, meta: map[string]any{"path": bounded(t)}}
}

// fdinfo copies the fields of /proc/PID/fdinfo/N that say something of
// the descriptor: pos, flags (octal, and the access mode), and those of
// timerfd, eventfd, signalfd and inotify.
func fdinfo(b []byte, md map[string]any) {
	watches := 0
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "pos":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				md["pos"] = n
			}
		case "flags":
			if n, err := strconv.ParseUint(v, 8, 32); err == nil {
				md["flags"] = v
				md["access"] = [...]string{"read", "write", "read-write", "?"}[n&3]
			}
		case "clockid", "ticks", "it_value", "it_interval", "eventfd-count", "sigmask", "settime flags":
			md[strings.ReplaceAll(k, " ", "_")] = bounded(v)
		case "inotify wd":
			watches++
		}
	}
	if watches > 0 {
		md["watches"] = watches
	}
	if v, ok := md["it_value"].(string); ok {
		// "(0, 0)" is a disarmed timer.
		md["armed"] = strings.ReplaceAll(v, " ", "") != "(0,0)"
	}
}

// netTables reads the socket tables of the process's network namespace,
// by inode. A table that cannot be read is left out: its sockets are then
// described as "other".
func (r *reader) netTables() map[uint64]*sock {
	out := map[uint64]*sock{}
	for _, p := range [...]string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := r.readFile(r.dir+"/net/"+p, maxNetTable)
		if err != nil {
			continue
		}
		parseInet(string(b), p, out)
	}
	if b, err := r.readFile(r.dir+"/net/unix", maxNetTable); err == nil {
		parseUnix(string(b), out)
	}
	return out
}

var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}

// parseInet reads net/tcp, tcp6, udp or udp6 (proc(5)):
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
func parseInet(table, proto string, out map[uint64]*sock) {
	first := true
	for line := range strings.Lines(table) {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || ino == 0 {
			continue
		}
		local, ok1 := inetAddr(f[1])
		remote, ok2 := inetAddr(f[2])
		if !ok1 || !ok2 {
			continue
		}
		st := tcpStates[f[3]]
		if strings.HasPrefix(proto, "udp") {
			st = map[string]string{"01": "ESTABLISHED", "07": "UNCONNECTED"}[f[3]]
		}
		if st == "" {
			st = f[3]
		}
		out[ino] = &sock{proto: proto, local: local, remote: remote, state: st}
	}
}

// inetAddr reads ADDR:PORT in hex, the address as 32-bit words in host
// byte order (4 bytes for IPv4, 16 for IPv6).
func inetAddr(s string) (string, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return "", false
	}
	var ip [16]byte
	for w := 0; w < len(raw)/4; w++ {
		v := binary.BigEndian.Uint32(raw[4*w:])
		binary.NativeEndian.PutUint32(ip[4*w:], v)
	}
	var addr netip.Addr
	if len(raw) == 4 {
		addr = netip.AddrFrom4([4]byte(ip[:4]))
	} else {
		addr = netip.AddrFrom16(ip)
	}
	return netip.AddrPortFrom(addr, uint16(port)).String(), true
}

// parseUnix reads net/unix (proc(5)):
//
//	Num RefCount Protocol Flags Type St Inode Path
func parseUnix(table string, out map[uint64]*sock) {
	first := true
	for line := range strings.Lines(table) {
		if first {
			first = false
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		ino, err := strconv.ParseUint(f[6], 10, 64)
		if err != nil || ino == 0 {
			continue
		}
		kind := map[string]string{"0001": "stream", "0002": "dgram", "0005": "seqpacket"}[f[4]]
		if kind == "" {
			kind = f[4]
		}
		sk := &sock{proto: "unix", kind: kind}
		if len(f) > 7 {
			// The path is the rest of the line, spaces and all.
			sk.path = bounded(afterFields(line, 7))
		}
		out[ino] = sk
	}
}

// afterFields is what follows the first n space-separated fields of line
// and the spaces after them.
func afterFields(line string, n int) string {
	i := 0
	for range n {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		for i < len(line) && line[i] != ' ' {
			i++
		}
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	return line[i:]
}
