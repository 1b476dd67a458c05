package cmd

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// AttachCheckOptions are the flags of `rescoord attach-check`.
type AttachCheckOptions struct {
	Target string
	Attach AttachOptions
	// Public says the server was started with a public address: a
	// foreign Host is then accepted, not 421.
	Public  bool
	Outputs []string
}

// NewCmdAttachCheck builds `rescoord attach-check`. A non-nil runF replaces
// the run, for tests.
func NewCmdAttachCheck(f *Factory, runF func(*AttachCheckOptions) error) *cobra.Command {
	opts := &AttachCheckOptions{}
	c := &cobra.Command{
		Use:   "attach-check TARGET",
		Short: "Check that a live process serves the attach protocol as docs/attach-protocol.md states it",
		Long: `attach-check sends a live process the requests of the attach protocol —
the endpoints, and the requests a server must refuse (a web page's, a
foreign Host, a missing token) — and checks its discovery file, runtime
directory and socket. It prints one line per check, ok or FAIL with what
was expected and what came back, and exits 0 when every check passed, 1
when one failed, 2 when the target cannot be reached.

It never runs a cleanup: its cleanup requests have no component, or one
the process does not hold. TARGET is what --attach takes: a process name
or pid:N from 'rescoord ps', unix:///path.sock, or http://127.0.0.1:PORT.`,
		Example: `  rescoord attach-check mediaapp
  RESCOORD_TOKEN=s3cret rescoord attach-check http://127.0.0.1:6060
  rescoord attach-check unix:///run/user/1000/rescoord/4242.sock -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Target = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runAttachCheck(c.Context(), f, opts)
		},
	}
	opts.Attach.addFlags(c)
	c.Flags().BoolVar(&opts.Public, "public", false, "the process serves with a public address: accept requests naming another host (no 421)")
	addOutputFlag(c, printer.AttachCheck, &opts.Outputs)
	return c
}

// checker runs the checks against one target.
type checker struct {
	ctx     context.Context
	f       *Factory
	client  *attach.Client
	target  attach.Target
	timeout time.Duration
	public  bool
	// allowUIDs is --allow-uid: whose sockets may be attached to.
	allowUIDs []int
	results   []printer.CheckResult
}

func runAttachCheck(ctx context.Context, f *Factory, opts *AttachCheckOptions) error {
	targets, err := parseTargets(printer.AttachCheck, opts.Outputs)
	if err != nil {
		return err
	}
	client, err := opts.Attach.client(f, opts.Target)
	if err != nil {
		return err
	}
	defer client.Close()
	allow, _ := attach.ParseUIDs(opts.Attach.AllowUID) // client checked it
	k := &checker{ctx: ctx, f: f, client: client, target: client.Target(), timeout: opts.Attach.Timeout, public: opts.Public, allowUIDs: allow}
	if err := k.run(); err != nil {
		return err
	}
	data := &printer.AttachCheckData{Target: k.target.Name, Checks: k.results}
	if err := printTo(f, printer.AttachCheck, targets, printer.Options{}, data); err != nil {
		return err
	}
	if data.Failed() > 0 {
		return errFindings
	}
	return nil
}

// report records a check. want and got may quote the server: the
// printer escapes them.
func (k *checker) report(name string, ok bool, want, got string) {
	k.results = append(k.results, printer.CheckResult{Name: name, OK: ok, Want: want, Got: k.client.Scrub(got)})
}

// answer is what the server sent back to one probe.
type answer struct {
	status int
	ctype  string
	header http.Header
	body   []byte
	close  bool
	err    error
}

// maxCheckBody bounds the answers attach-check reads, but the snapshot's.
const maxCheckBody = 16 << 20

// ask sends one probe, bounded by --timeout and the command's context,
// and reads at most limit bytes of the answer.
func (k *checker) ask(p attach.Probe, limit int64) answer {
	ctx, cancel := context.WithTimeout(k.ctx, k.timeout)
	defer cancel()
	resp, err := k.client.Send(ctx, p)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), header: resp.Header, body: body, close: resp.Close}
	switch {
	case err != nil && ctx.Err() != nil:
		a.err = fmt.Errorf("%s did not answer within %s", k.target.Name, k.timeout)
	case err != nil:
		a.err = fmt.Errorf("reading the answer: %v", err)
	case int64(len(body)) > limit:
		a.err = fmt.Errorf("an answer over %s", render.Bytes(limit))
	}
	return a
}

// String describes an answer in a check's line.
func (a answer) String() string {
	if a.err != nil && a.status == 0 {
		return a.err.Error()
	}
	s := strconv.Itoa(a.status)
	if a.ctype != "" {
		s += " " + a.ctype
	} else {
		s += " without a content type"
	}
	if a.err != nil {
		s += ", " + a.err.Error()
	}
	return s
}

// mediaType is the content type without its parameters.
func (a answer) mediaType() string {
	mt, _, err := mime.ParseMediaType(a.ctype)
	if err != nil {
		return ""
	}
	return mt
}

// decoded is the body, gunzipped when the answer says it is gzip.
func (a answer) decoded(limit int64) ([]byte, error) {
	if !strings.EqualFold(a.header.Get("Content-Encoding"), "gzip") {
		return a.body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.body))
	if err != nil {
		return nil, fmt.Errorf("Content-Encoding gzip, but not gzip: %v", err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("Content-Encoding gzip, but a broken gzip stream: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("over %s once decompressed", render.Bytes(limit))
	}
	return b, nil
}

// errorBody says what is wrong with an error answer's body, or "".
func (a answer) errorBody() string {
	if a.mediaType() != "application/json" {
		return "content type " + strconv.Quote(a.ctype) + ", not application/json"
	}
	var e map[string]any
	if err := json.Unmarshal(a.body, &e); err != nil {
		return "a body that is not a JSON object: " + clipBody(a.body)
	}
	if msg, ok := e["error"].(string); !ok || msg == "" {
		return `a JSON body without a non-empty "error" string: ` + clipBody(a.body)
	}
	return ""
}

func clipBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// wantError checks an answer is an error of the protocol: one of statuses,
// the JSON error body and, for a refusal, Connection: close.
func (k *checker) wantError(name string, a answer, refusal bool, statuses ...int) answer {
	var want []string
	for _, s := range statuses {
		want = append(want, strconv.Itoa(s))
	}
	w := orList(want) + ` with {"error": "…"} (application/json)`
	if refusal {
		w += " and Connection: close"
	}
	switch {
	case a.status == 0 || a.err != nil:
		k.report(name, false, w, a.String())
	case !slices.Contains(statuses, a.status):
		k.report(name, false, w, a.String())
	case a.errorBody() != "":
		k.report(name, false, w, strconv.Itoa(a.status)+" with "+a.errorBody())
	case refusal && !a.close:
		k.report(name, false, w, strconv.Itoa(a.status)+", the connection kept open")
	default:
		got := strconv.Itoa(a.status) + " with an error body"
		if refusal {
			got += ", connection closed"
		}
		k.report(name, true, w, got)
	}
	return a
}

// wantOK checks an answer is 200 with the content type want.
func (k *checker) wantOK(name string, a answer, ctype string) bool {
	w := "200 " + ctype
	switch {
	case a.status == 0 || a.err != nil:
		k.report(name, false, w, a.String())
	case a.status != http.StatusOK:
		k.report(name, false, w, a.String()+" "+clipBody(a.body))
	case a.mediaType() != ctype:
		k.report(name, false, w, a.String())
	default:
		return true
	}
	return false
}

func (k *checker) get(path string, h http.Header) answer {
	return k.ask(attach.Probe{Method: http.MethodGet, Path: path, Header: h, Token: true}, maxCheckBody)
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func (k *checker) run() error {
	// The first request tells whether the server can be reached at all.
	first := k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Token: true}, maxCheckBody)
	if first.status == 0 {
		return &exitError{code: ExitError, err: first.err}
	}
	if first.status == http.StatusUnauthorized && !k.client.HasToken() {
		return &exitError{code: ExitError, err: fmt.Errorf("%s requires a token: pass --token or set RESCOORD_TOKEN", k.target.Name)}
	}
	k.fileChecks()
	if err := k.steps(); err != nil {
		return err
	}
	return nil
}

func (k *checker) steps() error {
	steps := []func(){
		k.checkSnapshot, k.checkSnapshotGzip, k.checkHead, k.checkStats, k.checkMetrics,
		k.checkNotFound, k.checkWrongMethod,
		k.checkOrigin, k.checkFetchSite, k.checkFetchSiteNone, k.checkPreflight,
		k.checkHost, k.checkToken,
		k.checkCleanup,
	}
	for _, s := range steps {
		s()
		if err := k.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// --- the files --------------------------------------------------------------

// fileChecks checks the discovery file (a target found through one), the
// runtime directory and the unix socket.
func (k *checker) fileChecks() {
	runtimeDir := ""
	if k.target.Discovery != "" {
		runtimeDir = filepath.Dir(k.target.Discovery)
		k.checkDiscoveryFile(k.target.Discovery)
		k.checkDir("runtime directory "+runtimeDir, runtimeDir, false)
	}
	if k.target.Network == "unix" {
		k.checkSocket(k.target.Addr)
		if d := filepath.Dir(k.target.Addr); d != runtimeDir {
			k.checkDir("socket directory "+d, d, true)
		}
	}
}

// lstat is os.Lstat with the owner's uid.
func lstat(path string) (os.FileInfo, int, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	uid := -1
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uid = int(sys.Uid)
	}
	return st, uid, nil
}

// ownedBy describes who owns a file when it is not the caller.
func ownedBy(uid int) string {
	return fmt.Sprintf("owned by uid %d, not by you (uid %d)", uid, os.Geteuid())
}

func (k *checker) checkDir(name, dir string, sticky bool) {
	want := "a directory of yours (not a symbolic link), not writable by group or others"
	if sticky {
		want = "a directory (not a symbolic link) not writable by group or others, or with the sticky bit"
	}
	st, uid, err := lstat(dir)
	switch {
	case err != nil:
		k.report(name, false, want, err.Error())
	case st.Mode()&os.ModeSymlink != 0:
		k.report(name, false, want, "a symbolic link")
	case !st.IsDir():
		k.report(name, false, want, "not a directory")
	case !sticky && uid != os.Geteuid():
		k.report(name, false, want, ownedBy(uid))
	case st.Mode().Perm()&0o022 != 0 && !(sticky && st.Mode()&os.ModeSticky != 0):
		k.report(name, false, want, fmt.Sprintf("mode %04o", modeBits(st)))
	default:
		k.report(name, true, want, fmt.Sprintf("a directory, mode %04o", modeBits(st)))
	}
}

// modeBits is the permission bits of st with the sticky bit as 01000.
func modeBits(st os.FileInfo) uint32 {
	m := uint32(st.Mode().Perm())
	if st.Mode()&os.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

func (k *checker) checkSocket(path string) {
	name := "socket " + path
	const want = "a socket of the serving user, mode 0600"
	st, uid, err := lstat(path)
	switch {
	case err != nil:
		k.report(name, false, want, err.Error())
	case st.Mode()&os.ModeSocket == 0:
		k.report(name, false, want, "not a socket ("+st.Mode().Type().String()+")")
	case uid != os.Geteuid() && !k.allowedUID(uid):
		k.report(name, false, want, ownedBy(uid))
	case st.Mode().Perm() != 0o600:
		k.report(name, false, want, fmt.Sprintf("mode %04o", modeBits(st)))
	default:
		k.report(name, true, want, "a socket, mode 0600")
	}
}

// allowedUID reports whether --allow-uid names uid (the client checked the
// socket's server against them already).
func (k *checker) allowedUID(uid int) bool {
	return uid >= 0 && slices.Contains(k.allowUIDs, uid)
}

// checkDiscoveryFile checks the file the target was found in.
func (k *checker) checkDiscoveryFile(path string) {
	name := "discovery file " + path
	const want = "a regular file of yours, mode 0600, holding pid, process, address, started_at and an optional token flag"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			k.report(name, false, want, "a symbolic link")
		} else {
			k.report(name, false, want, err.Error())
		}
		return
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		k.report(name, false, want, err.Error())
		return
	}
	perm := st.Mode & 0o7777
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		k.report(name, false, want, "not a regular file")
		return
	case int(st.Uid) != os.Geteuid():
		k.report(name, false, want, ownedBy(int(st.Uid)))
		return
	case perm != 0o600:
		k.report(name, false, want, fmt.Sprintf("mode %04o", perm))
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		k.report(name, false, want, err.Error())
		return
	}
	if len(b) > 64<<10 {
		k.report(name, false, want, "a file over 64 KiB")
		return
	}
	if problem := discoveryProblem(b, path); problem != "" {
		k.report(name, false, want, problem)
		return
	}
	k.report(name, true, want, "a regular file of yours, mode 0600, with pid, process, address, started_at")
}

// discoveryProblem says what is wrong with a discovery file's content, or "".
func discoveryProblem(b []byte, path string) string {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return "not a JSON object: " + err.Error()
	}
	var e struct {
		PID       *json.Number `json:"pid"`
		Process   *string      `json:"process"`
		Address   *string      `json:"address"`
		StartedAt *string      `json:"started_at"`
		Token     *bool        `json:"token"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return "a field of the wrong type: " + err.Error()
	}
	if _, ok := doc["token"]; ok && e.Token == nil {
		return `"token" is null, not a boolean`
	}
	switch {
	case e.PID == nil:
		return `no "pid"`
	case e.Process == nil:
		return `no "process"`
	case e.Address == nil:
		return `no "address"`
	case e.StartedAt == nil:
		return `no "started_at"`
	}
	pid, err := strconv.Atoi(e.PID.String())
	if err != nil || pid <= 0 {
		return fmt.Sprintf(`"pid" %s is not a positive integer`, e.PID)
	}
	if base := filepath.Base(path); base != strconv.Itoa(pid)+".json" {
		return fmt.Sprintf(`"pid" %d, but the file is named %s`, pid, base)
	}
	if *e.Process == "" {
		return `an empty "process"`
	}
	if err := discovery.CheckAddress(*e.Address); err != nil {
		return err.Error()
	}
	if _, err := time.Parse(time.RFC3339Nano, *e.StartedAt); err != nil {
		return fmt.Sprintf(`"started_at" %q is not an RFC 3339 time`, *e.StartedAt)
	}
	return ""
}

// discoveryToken reads the discovery file's token flag.
func discoveryToken(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var e discovery.Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return false, err
	}
	return e.Token, nil
}

// --- the endpoints ----------------------------------------------------------

func (k *checker) checkSnapshot() {
	const name = "GET /snapshot"
	a := k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Token: true}, snapshot.DefaultMaxBytes)
	if !k.wantOK(name, a, "application/json") {
		return
	}
	k.checkSnapshotBody(name, a)
}

func (k *checker) checkSnapshotBody(name string, a answer) {
	const want = "200 application/json, a valid rescoord/v1 snapshot"
	body, err := a.decoded(snapshot.DefaultMaxBytes)
	if err != nil {
		k.report(name, false, want, err.Error())
		return
	}
	s, err := snapshot.DecodeContext(k.ctx, bytes.NewReader(body), "", snapshot.Options{})
	if err != nil {
		msg := err.Error()
		var list *snapshot.Errors
		if errors.As(err, &list) && len(list.List) > 0 {
			msg = list.List[0].Error()
			if list.Total() > 1 {
				msg += fmt.Sprintf(" (and %d more)", list.Total()-1)
			}
		}
		k.report(name, false, want, "an invalid snapshot: "+msg)
		return
	}
	got := fmt.Sprintf("200 application/json, a valid %s snapshot (%s, %s)", s.Format, human.Count(len(s.Components), "component", "components"), human.Count(len(s.Resources), "resource", "resources"))
	if a.header.Get("Content-Encoding") != "" {
		got += ", " + a.header.Get("Content-Encoding")
	}
	k.report(name, true, want, got)
}

func (k *checker) checkSnapshotGzip() {
	const name = "GET /snapshot, Accept-Encoding: gzip"
	a := k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Token: true, Header: header("Accept-Encoding", "gzip")}, snapshot.DefaultMaxBytes)
	if !k.wantOK(name, a, "application/json") {
		return
	}
	if !strings.Contains(a.header.Get("Vary"), "Accept-Encoding") {
		k.report(name, false, "Vary: Accept-Encoding", fmt.Sprintf("Vary %q", a.header.Get("Vary")))
		return
	}
	k.checkSnapshotBody(name, a)
}

func (k *checker) checkHead() {
	const name = "HEAD /snapshot"
	a := k.ask(attach.Probe{Method: http.MethodHead, Path: attach.PathSnapshot, Token: true}, maxCheckBody)
	if !k.wantOK(name, a, "application/json") {
		return
	}
	if len(a.body) > 0 {
		k.report(name, false, "200 application/json without a body", fmt.Sprintf("a body of %d bytes", len(a.body)))
		return
	}
	k.report(name, true, "200 application/json without a body", "200 application/json, no body")
}

// statsFields are the fields of GET /stats and their JSON kinds.
var statsFields = []struct{ name, kind string }{
	{"taken_at", "string"}, {"alive_components", "number"}, {"destroyed_components", "number"},
	{"live_resources", "number"}, {"releasing_resources", "number"}, {"live_bytes", "number"},
	{"global_limit_bytes", "number"}, {"cleanups", "number"}, {"by_type", "object"}, {"by_component", "object"},
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return "unknown"
}

func (k *checker) checkStats() {
	const name = "GET /stats"
	const want = "200 application/json, an object with taken_at, alive_components, destroyed_components, live_resources, releasing_resources, live_bytes, global_limit_bytes, cleanups, by_type and by_component"
	a := k.get(attach.PathStats, nil)
	if !k.wantOK(name, a, "application/json") {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(a.body, &doc); err != nil {
		k.report(name, false, want, "a body that is not a JSON object: "+clipBody(a.body))
		return
	}
	for _, f := range statsFields {
		v, ok := doc[f.name]
		if !ok {
			k.report(name, false, want, fmt.Sprintf("no %q", f.name))
			return
		}
		if got := jsonKind(v); got != f.kind {
			k.report(name, false, want, fmt.Sprintf("%q is a %s, not a %s", f.name, got, f.kind))
			return
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, doc["taken_at"].(string)); err != nil {
		k.report(name, false, want, fmt.Sprintf("taken_at %q is not an RFC 3339 time", doc["taken_at"]))
		return
	}
	k.report(name, true, want, "200 application/json, every field of the right type")
}

// metricsFamilies are the families every scrape holds.
var metricsFamilies = []string{"rescoord_components", "rescoord_registry_live_bytes", "rescoord_leak_findings"}

func (k *checker) checkMetrics() {
	const name = "GET /metrics"
	const want = "200 text/plain (version 0.0.4), Prometheus text with rescoord_components, rescoord_registry_live_bytes and rescoord_leak_findings"
	a := k.get(attach.PathMetrics, nil)
	if a.status == http.StatusNotFound && a.err == nil && a.errorBody() == "" {
		// Metrics are optional: a Go program serves them only with
		// registry.WithMetrics (docs/attach-protocol.md, "GET /metrics").
		k.report(name, true, want+", or 404 with the error body when not served", "404: this process does not serve metrics")
		return
	}
	if !k.wantOK(name, a, "text/plain") {
		return
	}
	_, params, _ := mime.ParseMediaType(a.ctype)
	if v, ok := params["version"]; ok && v != "0.0.4" {
		k.report(name, false, want, "text/plain version "+v)
		return
	}
	body, err := a.decoded(maxCheckBody)
	if err != nil {
		k.report(name, false, want, err.Error())
		return
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		k.report(name, false, want, "not Prometheus text: "+err.Error())
		return
	}
	for _, f := range metricsFamilies {
		if _, ok := fams[f]; !ok {
			k.report(name, false, want, "no "+f)
			return
		}
	}
	states := map[string]bool{}
	for _, m := range fams["rescoord_components"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "state" {
				states[l.GetValue()] = true
			}
		}
	}
	if !states["alive"] || !states["destroyed"] {
		k.report(name, false, want, `rescoord_components without both state="alive" and state="destroyed"`)
		return
	}
	k.report(name, true, want, fmt.Sprintf("200 text/plain, %d metric families", len(fams)))
}

func (k *checker) checkNotFound() {
	k.wantError("GET /no-such-endpoint", k.get("/no-such-endpoint", nil), false, http.StatusNotFound)
}

func (k *checker) checkWrongMethod() {
	// Both servers route an unknown method to their "not found" answer.
	a := k.ask(attach.Probe{Method: http.MethodPost, Path: attach.PathSnapshot, Token: true}, maxCheckBody)
	k.wantError("POST /snapshot (wrong method)", a, false, http.StatusNotFound)
}

func (k *checker) checkOrigin() {
	k.wantError("GET /snapshot, Origin: https://example.com", k.get(attach.PathSnapshot, header("Origin", "https://example.com")), true, http.StatusForbidden)
}

func (k *checker) checkFetchSite() {
	k.wantError("GET /snapshot, Sec-Fetch-Site: cross-site", k.get(attach.PathSnapshot, header("Sec-Fetch-Site", "cross-site")), true, http.StatusForbidden)
}

func (k *checker) checkFetchSiteNone() {
	const name = "GET /snapshot, Sec-Fetch-Site: none"
	if a := k.get(attach.PathSnapshot, header("Sec-Fetch-Site", "none")); k.wantOK(name, a, "application/json") {
		k.report(name, true, "200 application/json (the user typed the URL)", "200 application/json")
	}
}

func (k *checker) checkPreflight() {
	const name = "OPTIONS /cleanup, a CORS preflight"
	a := k.ask(attach.Probe{Method: http.MethodOptions, Path: attach.PathCleanup, Token: true,
		Header: header("Origin", "https://example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", attach.ClientHeader)}, maxCheckBody)
	for h := range a.header {
		if strings.HasPrefix(http.CanonicalHeaderKey(h), "Access-Control-Allow-") {
			k.report(name, false, "403 without any Access-Control-Allow-* header", a.String()+" with "+h)
			return
		}
	}
	k.wantError(name, a, true, http.StatusForbidden)
}

// checkHost checks the Host rules over TCP.
func (k *checker) checkHost() {
	if k.target.Network != "tcp" {
		return
	}
	_, port, err := net.SplitHostPort(k.target.Addr)
	if err != nil {
		port = "80"
	}
	foreign := "rescoord-attach-check.example:" + port
	a := k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Token: true, Host: foreign}, maxCheckBody)
	name := "GET /snapshot, Host: " + foreign
	if k.public {
		if k.wantOK(name, a, "application/json") {
			k.report(name, true, "200 application/json (--public)", "200 application/json")
		}
	} else {
		k.wantError(name, a, true, http.StatusMisdirectedRequest)
	}
	name = "GET /snapshot, Host: localhost:" + port
	a = k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Token: true, Host: "localhost:" + port}, maxCheckBody)
	if k.wantOK(name, a, "application/json") {
		k.report(name, true, "200 application/json", "200 application/json")
	}
}

// checkToken checks the token rules, and the discovery file's flag.
func (k *checker) checkToken() {
	required := false
	if k.client.HasToken() {
		const name = "GET /snapshot without the token"
		a := k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot}, maxCheckBody)
		required = a.status == http.StatusUnauthorized
		if required {
			k.wantError(name, a, true, http.StatusUnauthorized)
			if got := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(strings.ToLower(got), "bearer") {
				k.report(name+", WWW-Authenticate", false, `WWW-Authenticate: Bearer realm="rescoord"`, fmt.Sprintf("%q", got))
			}
			a = k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Header: header("Authorization", "Bearer "+k.client.Token()+"-wrong")}, maxCheckBody)
			k.wantError("GET /snapshot with a wrong token", a, true, http.StatusUnauthorized)
			const lower = "GET /snapshot, scheme bearer in lower case"
			a = k.ask(attach.Probe{Method: http.MethodGet, Path: attach.PathSnapshot, Header: header("Authorization", "bearer "+k.client.Token())}, maxCheckBody)
			if k.wantOK(lower, a, "application/json") {
				k.report(lower, true, "200 application/json (the scheme in any case)", "200 application/json")
			}
		} else if a.status == http.StatusOK {
			k.report(name, true, "401, or 200 when the server requires no token", "200: the server requires no token")
		} else {
			k.report(name, false, "401, or 200 when the server requires no token", a.String())
		}
	}
	if k.target.Discovery == "" {
		return
	}
	flag, err := discoveryToken(k.target.Discovery)
	const name = `discovery file "token"`
	switch {
	case err != nil:
		k.report(name, false, "readable", err.Error())
	case flag != required:
		k.report(name, false, fmt.Sprintf("%t (the server %s a token)", required, map[bool]string{true: "requires", false: "does not require"}[required]), strconv.FormatBool(flag))
	default:
		k.report(name, true, strconv.FormatBool(required), strconv.FormatBool(flag)+", as the server answers")
	}
}

// checkCleanup sends the cleanup requests that must destroy nothing: no
// component, and a component that is not in the registry.
func (k *checker) checkCleanup() {
	k.wantError("POST /cleanup without component", k.ask(attach.Probe{Method: http.MethodPost, Path: attach.PathCleanup, Token: true,
		Header: header(attach.ClientHeader, "rescoord")}, maxCheckBody), false, http.StatusBadRequest, http.StatusForbidden)
	absent := absentComponent()
	path := attach.PathCleanup + "?component=" + absent
	k.wantError("POST /cleanup of a component the registry does not hold", k.ask(attach.Probe{Method: http.MethodPost, Path: path, Token: true,
		Header: header(attach.ClientHeader, "rescoord")}, maxCheckBody), false, http.StatusNotFound, http.StatusForbidden)
	if k.target.Network == "tcp" {
		k.wantError("POST /cleanup over TCP without "+attach.ClientHeader, k.ask(attach.Probe{Method: http.MethodPost, Path: path, Token: true}, maxCheckBody),
			false, http.StatusForbidden)
	}
}

// absentComponent is a component id no registry holds.
func absentComponent() string {
	var b [8]byte
	rand.Read(b[:])
	return "rescoord-attach-check-" + hex.EncodeToString(b[:])
}
