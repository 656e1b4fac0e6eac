// Package pgdb opens a service's Postgres pool and applies its embedded
// migrations at start.
//
// Migrations are plain SQL files in goose's format, embedded in the service
// binary. Each set records its versions in its own table, so a service can
// apply shared sets (the outbox's) beside its own. Replicas starting together
// serialize on a Postgres advisory lock.
package pgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// defaultMaxConns is a pool's size unless the DSN sets pool_max_conns.
const defaultMaxConns = 16

// Connect opens a pool to dsn and waits, up to wait, for the server to
// answer, so a service can start while its database is still coming up.
func Connect(ctx context.Context, dsn string, wait time.Duration) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error can quote the DSN and its password: say less.
		return nil, errors.New("parse database URL: invalid")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgxpool's default, max(4, CPUs), is 4 here: at 1,000 writes/s the
		// requests queued for connections, and the outbox relay behind them
		// (docs/performance.md, W2).
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = pool.Ping(ctx)
		if err == nil {
			return pool, nil
		}
		if time.Now().After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("connect to %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
		}
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Migrations is one set of embedded migration files.
type Migrations struct {
	// Table records the applied versions of this set.
	Table string
	FS    fs.FS
}

// Migrate applies every set in order.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, sets ...Migrations) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	for _, set := range sets {
		if err := migrate(ctx, db, log, set); err != nil {
			return err
		}
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger, set Migrations) error {
	h := fnv.New64a()
	h.Write([]byte("campaign-live migrations " + set.Table))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 120))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, set.FS,
		goose.WithTableName(set.Table), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations %s: %w", set.Table, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", set.Table, err)
	}
	for _, r := range results {
		log.Info("migration applied", "set", set.Table, "version", r.Source.Version, "took", r.Duration.String())
	}
	return nil
}

// Embedded returns the migration set in the `migrations` folder of fsys
// (an embed.FS with `//go:embed migrations/*.sql`), recorded in table.
func Embedded(fsys fs.FS, table string) Migrations {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(fmt.Sprintf("pgdb: embedded migrations: %v", err)) // a build mistake, not a runtime condition
	}
	return Migrations{Table: table, FS: sub}
}
