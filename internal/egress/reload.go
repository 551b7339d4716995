package egress

import (
	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Reload re-reads the routes file and swaps the new routes in atomically.
// Requests in flight keep the snapshot they started with. A file that does
// not load or validate (or names a token slot that is not set) changes
// nothing: the routes in force stay, and the log says why.
func (s *Server) Reload(path string) error {
	rs, err := sidecarconfig.LoadRoutes(path)
	if err == nil {
		err = s.SetRoutes(rs)
	}
	if err != nil {
		s.log.Error("routes reload failed; keeping the routes in force", daemonlog.KeyConfig, path, daemonlog.KeyErr, err.Error())
		return err
	}
	s.log.Info("routes reloaded", "config", path, "routes", len(rs.Routes))
	return nil
}
