package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a reverse proxy or a load balancer, every request comes from the
// proxy's address and TLS ends at the proxy. Config.TrustedProxies names
// the proxies whose X-Forwarded-For and X-Forwarded-Proto are believed;
// from any other peer those headers are ignored, since a client can send
// them.

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address rate limits count by: the peer's, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (proxies append the address they got the request from, so the
// addresses on the right were written by trusted hands).
func (s *Server) clientAddr(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // past a malformed hop nothing can be believed
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client.String()
}

// viaTLS reports whether the client's request came over TLS: to this
// server, or to a trusted proxy that says so in X-Forwarded-Proto.
func (s *Server) viaTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, ok := peerAddr(r)
	if !ok || !s.trusted(peer) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}
