package config

import (
	"net"
	"strings"
)

// DefaultControlSocket is where the daemon serves `nfdhcpd status`; the
// systemd unit's RuntimeDirectory creates its directory.
const DefaultControlSocket = "/run/nfdhcpd/control"

// parseOps reads the [general] keys of the operations features: the
// control socket and the metrics endpoint.
func (g *General) parseOps(r *sectionReader) error {
	g.ControlSocket = r.str("control_socket", DefaultControlSocket)
	if g.ControlSocket != "" && !strings.HasPrefix(g.ControlSocket, "/") {
		return r.errorf("control_socket", "%q is not an absolute path", g.ControlSocket)
	}
	g.MetricsListen = r.str("metrics_listen", "")
	if g.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(g.MetricsListen); err != nil {
			return r.errorf("metrics_listen", "%q is not host:port", g.MetricsListen)
		}
	}
	return nil
}
