package attach

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// The checks every server of the attach protocol makes of a request
// (docs/attach-protocol.md, "Order of the checks, and refusals"): the Go
// registry's server and `rescoord metrics` share them.

// FromWebPage says why req looks sent by a browser for a web page, or "".
// rescoord's client, curl and Prometheus send neither header; a browser
// sends Origin with every cross-origin request but a plain GET, and
// Sec-Fetch-Site with all of them ("none" is the user typing the URL).
func FromWebPage(req *http.Request) string {
	if _, ok := req.Header["Origin"]; ok {
		return "forbidden: requests from web pages (with an Origin header) are refused"
	}
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "none" {
		return "forbidden: requests from web pages (Sec-Fetch-Site " + strconv.Quote(Clip(site)) + ") are refused"
	}
	return ""
}

// LoopbackHost reports whether a Host header, with or without its port,
// is localhost or a loopback IP literal (127.0.0.0/8, [::1]): a web page
// whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Clip shortens an untrusted header value quoted in an error.
func Clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
