package clientip

import (
	"net/netip"
	"testing"
)

func BenchmarkFrom(b *testing.B) {
	trusted, _ := ParseProxies([]string{"10.0.0.0/8", "172.16.0.0/12", "2001:db8:ffff::/48"})
	remote := netip.MustParseAddr("10.0.0.1")
	f := func(name, xff string) {
		h := []byte(xff)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(h)))
			for b.Loop() {
				From(remote, h, nil, trusted)
			}
		})
	}
	f("ipv4-one-hop", "198.51.100.7")
	f("ipv4-two-trusted-hops", "6.6.6.6, 198.51.100.7, 172.16.0.9, 10.1.2.3")
	f("ipv6", "2001:db8:1:2:3:4:5:6")
	b.Run("baseline-netip-ParseAddr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if a, err := netip.ParseAddr("198.51.100.7"); err != nil || !a.IsValid() {
				b.Fatal(err)
			}
		}
	})
}
