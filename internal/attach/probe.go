package attach

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

var errBadToken = errors.New("the token holds a space or a control character")

// Probe is one request sent exactly as described, for checking a server
// against the protocol (rescoord attach-check): none of the client's own
// headers, no retries, no reading of the answer.
type Probe struct {
	Method string
	// Path is the endpoint's path with its query, under the target's prefix.
	Path string
	// Header is sent as it is. Host, when set, replaces the Host header.
	Header http.Header
	Host   string
	// Token sends "Authorization: Bearer TOKEN" with the client's token,
	// when it has one (before Header, which may replace it).
	Token bool
}

// HasToken reports whether the client sends a token.
func (c *Client) HasToken() bool { return c.opts.Token != "" }

// Token is the client's token, for a probe that changes it.
func (c *Client) Token() string { return c.opts.Token }

// Scrub replaces the client's token in text that came from the server.
func (c *Client) Scrub(s string) string { return c.scrub(s) }

// Send sends p through the client's connection — the uid of a unix
// socket's server is checked before a byte is written — bounded by ctx.
// A redirect is answered, not followed. A transport failure is one
// readable line, with the token removed.
func (c *Client) Send(ctx context.Context, p Probe) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, p.Method, c.url(p.Path), nil)
	if err != nil {
		return nil, err
	}
	if p.Token && c.opts.Token != "" {
		if strings.ContainsFunc(c.opts.Token, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			return nil, errBadToken
		}
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	for k, vs := range p.Header {
		req.Header[k] = vs
	}
	if p.Host != "" {
		req.Host = p.Host
	}
	resp, err := c.http.Transport.RoundTrip(req)
	if err != nil {
		return nil, c.explain(ctx, err)
	}
	return resp, nil
}
