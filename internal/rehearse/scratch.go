package rehearse

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// The rehearsal's databases, role and replay, for another tool that runs
// migrations the same way (the corpus run of the safe ways,
// internal/safewayrun).

// NewDatabase creates a database owned by the rehearsal role, a copy of
// template (which nobody may be connected to) when it is not "".
func (s *Server) NewDatabase(ctx context.Context, template string) (string, error) {
	return s.createDatabase(ctx, template)
}

// DropDatabase drops a database NewDatabase created, ending its sessions.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	return s.dropDatabase(ctx, name)
}

// ConnConfig is how migrations connect to db: as the rehearsal role, with
// opt's timeouts.
func (s *Server) ConnConfig(db string, opt Options) *pgx.ConnConfig {
	return s.roleConfig(db, opt.withDefaults())
}

// Replay applies a part as its tool runs it: a wrapped part in one
// transaction, the others statement by statement.
func Replay(ctx context.Context, c *pgx.Conn, p Part) *Error {
	return replay(ctx, c, p)
}
