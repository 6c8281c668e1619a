package ability_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/app/engine/ability"
)

// fakeResolver resolves made-up names to chosen addresses and counts lookups.
type fakeResolver struct {
	addrs map[string][]string
	calls atomic.Int32
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	ss, ok := f.addrs[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// dialRecorder counts the connections a guarded client attempts, and where.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
	fail  error // when set, no connection is made
}

func (d *dialRecorder) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, address)
	d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, address)
}

func (d *dialRecorder) dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// okServer is an httptest server (on 127.0.0.1) that answers "ok" and counts hits.
func okServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func hostPort(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestParseAllow(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := ability.ParseAllow(" status.internal, 127.0.0.1:8080 ,10.1.2.3/16,, [::1]:80, ::1, Example.COM., localhost:3000, ::ffff:10.0.0.0/104, 192.168.1.5 ")
		if err != nil {
			t.Fatalf("ParseAllow: %v", err)
		}
		want := []string{"status.internal", "127.0.0.1:8080", "10.1.0.0/16", "[::1]:80", "::1", "example.com", "localhost:3000", "10.0.0.0/8", "192.168.1.5"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseAllow mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		got, err := ability.ParseAllow(" , ")
		if err != nil || len(got) != 0 {
			t.Errorf("ParseAllow = (%v, %v), want nothing", got, err)
		}
	})
	for _, tt := range []struct{ name, in, wantErr string }{
		{"ErrCIDR", "10.0.0.0/33", `"10.0.0.0/33" is not a valid CIDR`},
		{"ErrPort", "a.example:0", `"a.example:0" is not a host:port with a port from 1 to 65535`},
		{"ErrPortWord", "a.example:http", "port from 1 to 65535"},
		{"ErrSpace", "a example", `"a example" is not a host name`},
		{"ErrURL", "http://a.example", "is not"},
		{"ErrSecondEntry", "ok.example, bad!", `"bad!"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ability.ParseAllow(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAllow(%q) = (%v, %v), want an error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

// TestGuardBlocked checks that internal destinations are refused before any
// connection is attempted.
func TestGuardBlocked(t *testing.T) {
	resolver := &fakeResolver{addrs: map[string][]string{
		"internal.test": {"127.0.0.1"},
		"private.test":  {"10.1.2.3"},
		"mixed.test":    {"93.184.216.34", "10.0.0.1"},
		"mapped.test":   {"::ffff:169.254.169.254"},
	}}
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"Loopback", "http://127.0.0.1/", "blocked: 127.0.0.1 is a loopback address"},
		{"LoopbackRange", "http://127.9.8.7:8080/", "blocked: 127.9.8.7 is a loopback address"},
		{"Private10", "http://10.0.0.1/", "blocked: 10.0.0.1 is a private address"},
		{"Private172", "http://172.16.5.4/", "blocked: 172.16.5.4 is a private address"},
		{"Private192", "https://192.168.1.1/", "blocked: 192.168.1.1 is a private address"},
		{"Metadata", "http://169.254.169.254/latest/meta-data", "blocked: 169.254.169.254 is a cloud metadata address"},
		{"LinkLocal", "http://169.254.1.1/", "blocked: 169.254.1.1 is a link-local address"},
		{"Unspecified", "http://0.0.0.0:80/", "blocked: 0.0.0.0 is an unspecified address"},
		{"CGNAT", "http://100.64.0.1/", "blocked: 100.64.0.1 is a shared (carrier-grade NAT) address"},
		{"Multicast", "http://224.0.0.1/", "blocked: 224.0.0.1 is a multicast address"},
		{"Broadcast", "http://255.255.255.255/", "is a reserved address"},
		{"IPv6Loopback", "http://[::1]/", "blocked: ::1 is a loopback address"},
		{"IPv6Unspecified", "http://[::]/", "blocked: :: is an unspecified address"},
		{"IPv6Private", "http://[fc00::1]/", "blocked: fc00::1 is a private address"},
		{"IPv6LinkLocal", "http://[fe80::1]/", "blocked: fe80::1 is a link-local address"},
		{"IPv6Multicast", "http://[ff02::1]/", "is a multicast address"},
		{"IPv4MappedLoopback", "http://[::ffff:127.0.0.1]/", "blocked: ::ffff:127.0.0.1 is a loopback address"},
		{"IPv4MappedPrivate", "http://[::ffff:10.0.0.1]/", "is a private address"},
		{"IPv4MappedMetadata", "http://[::ffff:a9fe:a9fe]/", "is a cloud metadata address"},
		{"NAT64Loopback", "http://[64:ff9b::127.0.0.1]/", "is a loopback address"},
		{"NameToLoopback", "http://internal.test:8080/", "blocked: internal.test resolves to a loopback address (127.0.0.1)"},
		{"NameToPrivate", "http://private.test/", "blocked: private.test resolves to a private address (10.1.2.3)"},
		{"NameWithOnePrivateAddress", "http://mixed.test/", "blocked: mixed.test resolves to a private address (10.0.0.1)"},
		{"NameToMappedMetadata", "http://mapped.test/", "resolves to a cloud metadata address (169.254.169.254)"},
		{"MetadataHost", "http://metadata.google.internal/computeMetadata/v1/", "blocked: metadata.google.internal is a cloud metadata host"},
		{"MetadataHostTrailingDot", "http://Metadata.Google.Internal./", "blocked: metadata.google.internal is a cloud metadata host"},
		{"FileScheme", "file:///etc/passwd", `blocked: scheme "file" is not allowed, only http and https`},
		{"GopherScheme", "gopher://127.0.0.1:70/_x", `blocked: scheme "gopher" is not allowed`},
		{"FTPScheme", "ftp://example.com/", `blocked: scheme "ftp" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dial := &dialRecorder{}
			client := ability.NewGuardedClient(ability.GuardOptions{Resolver: resolver, Dial: dial.Dial})
			resp, err := client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded, want %q", tt.url, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ability.ErrBlocked) {
				t.Errorf("errors.Is(%v, ErrBlocked) = false", err)
			}
			if got := dial.dialed(); len(got) != 0 {
				t.Errorf("dialed %v, want no connection attempt", got)
			}
		})
	}
}

func TestGuardBlocksLocalhost(t *testing.T) {
	srv, hits := okServer(t)
	u := "http://localhost:" + strings.Split(hostPort(t, srv), ":")[1] + "/"
	dial := &dialRecorder{}
	resp, err := ability.NewGuardedClient(ability.GuardOptions{Dial: dial.Dial}).Get(u)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded, want blocked", u)
	}
	if want := "blocked: localhost resolves to a loopback address"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if len(dial.dialed()) != 0 || hits.Load() != 0 {
		t.Errorf("dialed %v, server hits %d; want none", dial.dialed(), hits.Load())
	}
}

func TestGuardAllowed(t *testing.T) {
	srv, _ := okServer(t)
	hp := hostPort(t, srv)
	port := strings.Split(hp, ":")[1]
	resolver := &fakeResolver{addrs: map[string][]string{"internal.test": {"127.0.0.1"}}}
	tests := []struct {
		name  string
		allow string
		url   string
	}{
		{"IP", "127.0.0.1", srv.URL},
		{"IPPort", hp, srv.URL},
		{"CIDR", "127.0.0.0/8", srv.URL},
		{"IPAllowsNames", "127.0.0.1", "http://internal.test:" + port + "/"},
		{"Name", "internal.test", "http://internal.test:" + port + "/"},
		{"NamePort", "internal.test:" + port, "http://internal.test:" + port + "/"},
		{"Localhost", "localhost", "http://localhost:" + port + "/"},
		{"MappedForm", "127.0.0.1", "http://[::ffff:127.0.0.1]:" + port + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allow, err := ability.ParseAllow(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			opts := ability.GuardOptions{Allow: allow}
			if strings.Contains(tt.url, ".test") {
				opts.Resolver = resolver
			}
			resp, err := ability.NewGuardedClient(opts).Get(tt.url)
			if err != nil {
				t.Fatalf("GET %s with allow %q: %v", tt.url, tt.allow, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "ok" {
				t.Errorf("body = %q, want ok", body)
			}
		})
	}
	t.Run("ErrOtherPort", func(t *testing.T) {
		client := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1:1"}})
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("GET succeeded although only port 1 is allowed")
		}
		if !errors.Is(err, ability.ErrBlocked) {
			t.Errorf("error = %v, want blocked", err)
		}
	})
	t.Run("ErrOtherName", func(t *testing.T) {
		client := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"other.test"}, Resolver: resolver})
		resp, err := client.Get("http://internal.test:" + port + "/")
		if err == nil {
			resp.Body.Close()
			t.Fatal("GET succeeded although internal.test is not allowed")
		}
		if !errors.Is(err, ability.ErrBlocked) {
			t.Errorf("error = %v, want blocked", err)
		}
	})
}

// TestGuardDialsCheckedAddress shows DNS rebinding cannot slip through: the
// name is resolved once per connection and the connection goes to the
// address that was checked, never to a fresh lookup of the name.
func TestGuardDialsCheckedAddress(t *testing.T) {
	resolver := &fakeResolver{addrs: map[string][]string{"rebind.test": {"93.184.216.34"}}}
	dial := &dialRecorder{fail: errors.New("no network in tests")}
	client := ability.NewGuardedClient(ability.GuardOptions{Resolver: resolver, Dial: dial.Dial})
	resp, err := client.Get("http://rebind.test:8080/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET succeeded, want the fake dial error")
	}
	if diff := cmp.Diff([]string{"93.184.216.34:8080"}, dial.dialed()); diff != "" {
		t.Errorf("dialed mismatch (-want +got):\n%s", diff)
	}
	if got := resolver.calls.Load(); got != 1 {
		t.Errorf("lookups = %d, want 1", got)
	}
	if errors.Is(err, ability.ErrBlocked) {
		t.Errorf("error = %v, want a dial error, not blocked", err)
	}
}

func TestGuardRedirects(t *testing.T) {
	target, targetHits := okServer(t)
	redirect := func(to string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		return srv
	}

	t.Run("ErrToLoopbackPort", func(t *testing.T) {
		src := redirect(target.URL + "/secret")
		client := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{hostPort(t, src)}})
		resp, err := client.Get(src.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("redirect to a loopback port that is not allowed succeeded")
		}
		if want := "blocked: 127.0.0.1 is a loopback address"; !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
		if n := targetHits.Load(); n != 0 {
			t.Errorf("target hit %d times, want 0", n)
		}
	})
	t.Run("ErrToMetadata", func(t *testing.T) {
		src := redirect("http://169.254.169.254/latest/meta-data")
		resp, err := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{hostPort(t, src)}}).Get(src.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("redirect to the metadata address succeeded")
		}
		if !strings.Contains(err.Error(), "blocked: 169.254.169.254 is a cloud metadata address") {
			t.Errorf("error = %q", err)
		}
	})
	t.Run("ErrToFileScheme", func(t *testing.T) {
		src := redirect("file:///etc/passwd")
		resp, err := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{hostPort(t, src)}}).Get(src.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("redirect to file:// succeeded")
		}
		if !strings.Contains(err.Error(), `blocked: scheme "file" is not allowed`) {
			t.Errorf("error = %q", err)
		}
	})
	t.Run("AllowedTarget", func(t *testing.T) {
		src := redirect(target.URL + "/ok")
		resp, err := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}}).Get(src.URL)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		var hits atomic.Int32
		loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := hits.Add(1)
			http.Redirect(w, r, fmt.Sprintf("/hop%d", n), http.StatusFound)
		}))
		t.Cleanup(loop.Close)
		resp, err := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}}).Get(loop.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("endless redirects succeeded")
		}
		if !strings.Contains(err.Error(), "stopped after 3 redirects") {
			t.Errorf("error = %q", err)
		}
		if got := hits.Load(); got != 4 { // the request and 3 redirects
			t.Errorf("requests = %d, want 4", got)
		}
	})
	t.Run("ErrNoneAllowed", func(t *testing.T) {
		src := redirect(target.URL)
		resp, err := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}, MaxRedirects: -1}).Get(src.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("redirect followed with MaxRedirects -1")
		}
		if !strings.Contains(err.Error(), "stopped after 0 redirects") {
			t.Errorf("error = %q", err)
		}
	})
}

// TestGuardIgnoresProxy checks that proxy settings, which would dial on the
// client's behalf without the check, are ignored.
func TestGuardIgnoresProxy(t *testing.T) {
	proxy, proxyHits := okServer(t)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	resolver := &fakeResolver{addrs: map[string][]string{"public.test": {"93.184.216.34"}}}
	dial := &dialRecorder{fail: errors.New("no network in tests")}
	client := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}, Resolver: resolver, Dial: dial.Dial})
	resp, err := client.Get("http://public.test/")
	if err == nil {
		resp.Body.Close()
	}
	if diff := cmp.Diff([]string{"93.184.216.34:80"}, dial.dialed()); diff != "" {
		t.Errorf("dialed mismatch (-want +got):\n%s", diff)
	}
	if n := proxyHits.Load(); n != 0 {
		t.Errorf("proxy hit %d times, want 0", n)
	}
}
