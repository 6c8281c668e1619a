package ability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults of the guarded HTTP client.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxRedirects = 3
)

// ErrBlocked matches (with errors.Is) every refusal of the SSRF guard, so
// callers can tell a blocked request from a failing one.
var ErrBlocked = errors.New("blocked")

// BlockedError is the guard refusing a request: a scheme other than http and
// https, a cloud metadata host name, or a host that is or resolves to a
// loopback, private, link-local, metadata or otherwise internal address.
type BlockedError struct {
	// Host is the host as requested (a name or an IP literal); empty for a
	// refused scheme.
	Host string
	// Reason completes "blocked: …", e.g. `10.0.0.1 is a private address`.
	Reason string
}

// Error implements error.
func (e *BlockedError) Error() string { return "blocked: " + e.Reason }

// Is makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Resolver looks up a host's addresses; *net.Resolver satisfies it, and tests
// inject fakes so that made-up names resolve to chosen addresses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// GuardOptions configure NewGuardedClient.
type GuardOptions struct {
	// Allow lists host names, host:port pairs, IPs, IP:port pairs and CIDRs
	// that bypass the address check (the output of ParseAllow, usually from
	// PARLEY_FETCH_ALLOW). Entries that do not parse are ignored.
	Allow []string
	// Timeout caps a whole request, redirects and body included (0:
	// DefaultTimeout).
	Timeout time.Duration
	// MaxRedirects caps the redirects followed (0: DefaultMaxRedirects;
	// negative: none).
	MaxRedirects int
	// Resolver looks up host names (nil: net.DefaultResolver).
	Resolver Resolver
	// Dial connects to an address that has passed the check, always an
	// IP:port (nil: a net.Dialer). It exists so tests can observe that a
	// refused request never connects.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// NewGuardedClient returns an HTTP client for requests whose destination
// comes from users or models. It refuses schemes other than http and https,
// cloud metadata host names, and every destination that is, or resolves to, a
// loopback, private, link-local, metadata, unspecified, multicast, CGNAT or
// reserved address (IPv4-mapped IPv6 forms included), unless the host is
// allowed. The check runs at dial time on the resolved addresses, and the
// connection goes to the very address that was checked, so neither DNS
// rebinding nor a redirect can slip past it. The client ignores proxy
// environment variables, which would otherwise bypass the check.
func NewGuardedClient(opts GuardOptions) *http.Client {
	g := &guard{allow: newAllowList(opts.Allow), resolver: opts.Resolver, dial: opts.Dial}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	if g.dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		g.dial = d.DialContext
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxRedirects := opts.MaxRedirects
	switch {
	case maxRedirects == 0:
		maxRedirects = DefaultMaxRedirects
	case maxRedirects < 0:
		maxRedirects = 0
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, unchecked
		DialContext:           g.dialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &guardTransport{guard: g, base: tr},
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return g.checkURL(req)
		},
	}
}

// ParseAllow parses a comma-separated allow list such as PARLEY_FETCH_ALLOW
// ("status.internal, 127.0.0.1:8080, 10.1.0.0/16") into normalised entries for
// GuardOptions.Allow; blanks are skipped and a malformed entry is an error
// that names it. Entries: a host name (any port), host:port, an IP (any
// port), IP:port ([v6]:port for IPv6), or a CIDR.
func ParseAllow(s string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		e, err := parseAllowEntry(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, e.String())
	}
	return out, nil
}

// allowEntry is one parsed allow-list entry: a host name, or an address
// prefix (a single IP is a /32 or /128), optionally limited to one port.
type allowEntry struct {
	name   string
	prefix netip.Prefix
	port   string
}

func (e allowEntry) String() string {
	switch {
	case e.name != "" && e.port != "":
		return net.JoinHostPort(e.name, e.port)
	case e.name != "":
		return e.name
	case e.prefix.IsSingleIP() && e.port != "":
		return net.JoinHostPort(e.prefix.Addr().String(), e.port)
	case e.prefix.IsSingleIP():
		return e.prefix.Addr().String()
	default:
		return e.prefix.String()
	}
}

func parseAllowEntry(raw string) (allowEntry, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	bad := func(why string) (allowEntry, error) {
		return allowEntry{}, fmt.Errorf("fetch allow list: %q is not %s", raw, why)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return bad("a valid CIDR (like 10.1.0.0/16)")
		}
		return allowEntry{prefix: unmapPrefix(p)}, nil
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		a = a.Unmap().WithZone("")
		return allowEntry{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("a host:port with a port from 1 to 65535")
		}
		host, port = h, strconv.Itoa(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap().WithZone("")
		return allowEntry{prefix: netip.PrefixFrom(a, a.BitLen()), port: port}, nil
	}
	host = strings.TrimSuffix(host, ".")
	if !validHostName(host) {
		return bad("a host name, host:port, IP or CIDR")
	}
	return allowEntry{name: host, port: port}, nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

type allowList []allowEntry

func newAllowList(entries []string) allowList {
	var l allowList
	for _, s := range entries {
		if e, err := parseAllowEntry(s); err == nil {
			l = append(l, e)
		}
	}
	return l
}

// host reports whether a host name (lower case, no trailing dot) is allowed
// on port.
func (l allowList) host(name, port string) bool {
	for _, e := range l {
		if e.name != "" && e.name == name && (e.port == "" || e.port == port) {
			return true
		}
	}
	return false
}

// addr reports whether an address (unmapped, no zone) is allowed on port.
func (l allowList) addr(a netip.Addr, port string) bool {
	for _, e := range l {
		if e.name == "" && e.prefix.Contains(a) && (e.port == "" || e.port == port) {
			return true
		}
	}
	return false
}

// metadataHosts are cloud metadata host names, refused before any lookup.
var metadataHosts = map[string]bool{
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"metadata":                   true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.internal":    true,
}

type guard struct {
	allow    allowList
	resolver Resolver
	dial     func(ctx context.Context, network, address string) (net.Conn, error)
}

// checkURL refuses schemes other than http and https and metadata host names;
// it runs on the first request and on every redirect.
func (g *guard) checkURL(req *http.Request) error {
	u := req.URL
	if u == nil {
		return &BlockedError{Reason: "the request has no URL"}
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return &BlockedError{Reason: fmt.Sprintf("scheme %q is not allowed, only http and https", u.Scheme)}
	}
	host := normalHost(u.Hostname())
	if host == "" {
		return &BlockedError{Reason: "the URL has no host"}
	}
	if metadataHosts[host] && !g.allow.host(host, u.Port()) {
		return &BlockedError{Host: host, Reason: host + " is a cloud metadata host"}
	}
	return nil
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// dialContext resolves the host, checks every address, then connects to a
// checked address (never re-resolving, so DNS rebinding cannot swap it).
func (g *guard) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	host := normalHost(h)
	nameAllowed := g.allow.host(host, port)
	if metadataHosts[host] && !nameAllowed {
		return nil, &BlockedError{Host: host, Reason: host + " is a cloud metadata host"}
	}
	var addrs []netip.Addr
	literal := false
	if a, err := netip.ParseAddr(host); err == nil {
		addrs, literal = []netip.Addr{a}, true
	} else {
		ipNet := "ip"
		switch network {
		case "tcp4", "udp4":
			ipNet = "ip4"
		case "tcp6", "udp6":
			ipNet = "ip6"
		}
		addrs, err = g.resolver.LookupNetIP(ctx, ipNet, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	for i, a := range addrs {
		a = a.Unmap()
		addrs[i] = a
		if nameAllowed || g.allow.addr(a.WithZone(""), port) {
			continue
		}
		if kind := classify(a); kind != "" {
			if literal {
				return nil, &BlockedError{Host: host, Reason: fmt.Sprintf("%s is %s", host, kind)}
			}
			return nil, &BlockedError{Host: host, Reason: fmt.Sprintf("%s resolves to %s (%s)", host, kind, a)}
		}
	}
	var firstErr error
	for _, a := range addrs {
		conn, err := g.dial(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

type guardTransport struct {
	guard *guard
	base  http.RoundTripper
}

// RoundTrip checks the URL before any connection is made, then delegates.
func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.guard.checkURL(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t *guardTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = []netip.Prefix{
		netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
		netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast included
		netip.MustParsePrefix("192.88.99.0/24"), // 6to4 relay anycast
	}
	reserved6 = []netip.Prefix{
		netip.MustParsePrefix("fec0::/10"), // deprecated site-local
		netip.MustParsePrefix("100::/64"),  // discard-only
	}
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack…
		netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	compat4   = netip.MustParsePrefix("::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify says what kind of internal address a is ("a private address"…),
// or "" for an address on the public internet. IPv6 forms that embed an IPv4
// address (mapped, compatible, NAT64, 6to4) are judged by that address.
func classify(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		b := a.As16()
		switch {
		case a.IsUnspecified(), a.IsLoopback():
			// judged below
		case compat4.Contains(a), nat64.Contains(a):
			if kind := classify(netip.AddrFrom4([4]byte(b[12:16]))); kind != "" {
				return kind
			}
		case sixToFour.Contains(a):
			if kind := classify(netip.AddrFrom4([4]byte(b[2:6]))); kind != "" {
				return kind
			}
		}
	}
	for _, m := range metadataAddrs {
		if a == m {
			return "a cloud metadata address"
		}
	}
	switch {
	case !a.IsValid():
		return "an invalid address"
	case a.IsUnspecified(), a.Is4() && thisNetwork.Contains(a):
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsPrivate():
		return "a private address"
	case a.IsMulticast():
		return "a multicast address"
	case cgnat.Contains(a):
		return "a shared (carrier-grade NAT) address"
	}
	list := reserved6
	if a.Is4() {
		list = reserved4
	}
	for _, p := range list {
		if p.Contains(a) {
			return "a reserved address"
		}
	}
	return ""
}
