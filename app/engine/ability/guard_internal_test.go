package ability

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"8.8.8.8", ""},
		{"93.184.216.34", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"127.0.0.1", "a loopback address"},
		{"::1", "a loopback address"},
		{"::ffff:127.0.0.1", "a loopback address"},
		{"::127.0.0.1", "a loopback address"},
		{"2002:7f00:1::1", "a loopback address"},
		{"10.255.255.255", "a private address"},
		{"172.31.0.1", "a private address"},
		{"172.32.0.1", ""},
		{"192.168.0.1", "a private address"},
		{"fd12::1", "a private address"},
		{"169.254.169.254", "a cloud metadata address"},
		{"fd00:ec2::254", "a cloud metadata address"},
		{"169.254.0.1", "a link-local address"},
		{"fe80::1%eth0", "a link-local address"},
		{"0.0.0.0", "an unspecified address"},
		{"0.1.2.3", "an unspecified address"},
		{"::", "an unspecified address"},
		{"224.0.0.251", "a multicast address"},
		{"ff05::2", "a multicast address"},
		{"100.64.0.1", "a shared (carrier-grade NAT) address"},
		{"100.127.255.255", "a shared (carrier-grade NAT) address"},
		{"100.128.0.1", ""},
		{"198.18.0.1", "a reserved address"},
		{"240.0.0.1", "a reserved address"},
		{"fec0::1", "a reserved address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("classify(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}
