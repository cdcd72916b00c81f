package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleychat/parley/blob"
	"github.com/parleychat/parley/blob/s3blob"
	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/natsbus"
	"github.com/parleychat/parley/sqlstore"
)

// connectTimeout bounds how long a node waits for NATS or S3 at start: a
// node that cannot reach them fails, and its supervisor starts it again.
const connectTimeout = 30 * time.Second

func openStore(ctx context.Context, cfg Config) (chat.Store, error) {
	switch {
	case cfg.DB == "":
		return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "parley.db"))
	case strings.HasPrefix(cfg.DB, "sqlite:"):
		return sqlstore.OpenSQLite(ctx, strings.TrimPrefix(cfg.DB, "sqlite:"))
	case strings.HasPrefix(cfg.DB, "postgres://"), strings.HasPrefix(cfg.DB, "postgresql://"):
		return sqlstore.OpenPostgres(ctx, cfg.DB)
	default:
		return nil, fmt.Errorf("unsupported database %q: use sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB", scheme(cfg.DB))
	}
}

// openBus returns the bus and the function that closes it. resync is called
// when the bus may have lost notices (NATS was unreachable): the hub tells
// every connection to resume from the store.
func openBus(ctx context.Context, cfg Config, log *slog.Logger, resync func()) (chat.Bus, func() error, error) {
	if cfg.Bus == "" {
		return bus.New(), func() error { return nil }, nil
	}
	for u := range strings.SplitSeq(cfg.Bus, ",") {
		if u = strings.TrimSpace(u); !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return nil, nil, fmt.Errorf("unsupported bus %q: use nats://HOST:PORT (comma-separated for a NATS cluster), or nothing for one node", scheme(u))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	opts := []natsbus.Option{natsbus.WithLogger(log), natsbus.WithName("parley " + cfg.NodeID), natsbus.OnResync(resync)}
	if cfg.BusPrefix != "" {
		opts = append(opts, natsbus.WithPrefix(cfg.BusPrefix))
	}
	b, err := natsbus.New(ctx, cfg.Bus, opts...)
	if err != nil {
		return nil, nil, err
	}
	return b, b.Close, nil
}

func openBlobs(ctx context.Context, cfg Config) (chat.Blobs, error) {
	switch {
	case cfg.Blobs == "":
		return blob.Open(filepath.Join(cfg.DataDir, "blobs"))
	case strings.HasPrefix(cfg.Blobs, "dir:"):
		dir := strings.TrimPrefix(cfg.Blobs, "dir:")
		if dir == "" {
			return nil, fmt.Errorf("blobs dir: needs a folder: dir:/PATH")
		}
		return blob.Open(dir)
	case strings.HasPrefix(cfg.Blobs, "s3://"):
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		return s3blob.Open(ctx, cfg.Blobs)
	default:
		return nil, fmt.Errorf("unsupported blobs %q: use dir:PATH or s3://BUCKET?endpoint=URL", scheme(cfg.Blobs))
	}
}

// scheme returns what a location starts with, for an error message: the
// rest may hold a password.
func scheme(location string) string {
	s, _, _ := strings.Cut(location, ":")
	return s + ":..."
}

// describe names the kind of a configured location for the start-up log,
// without the rest (which may hold a password).
func describe(location, def string) string {
	if location == "" {
		return def
	}
	s, _, _ := strings.Cut(location, ":")
	return s
}

// nodeName is the host name and a random suffix: new at every start, so a
// restarted node never takes over its previous life's presence rows.
func nodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "parley"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
