package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"zhengzhao/registry"
)

// storeUsage is the help text of --store.
const storeUsage = "the registry store: empty for SQLite in the data directory (the default), sqlite:PATH, or postgres://user:password@host:port/db (PostgreSQL)"

// storeFlag adds --store to a command's flags.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", "", storeUsage)
}

// openStore opens the registry store a --store URI names; empty means the
// SQLite store in data directory dir. This is the one place that chooses.
func openStore(ctx context.Context, uri, dir string) (registry.Store, error) {
	if uri == "" {
		if dir == "" {
			return nil, usagef("--store or --data is required")
		}
		return registry.OpenSQLite(filepath.Join(dir, "registry.db"))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, usagef("--store: not a URI: %v", err)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return registry.OpenPostgres(ctx, uri)
	case "sqlite", "file":
		path := u.Opaque
		if path == "" {
			path = u.Path
		}
		if path == "" {
			return nil, usagef("--store %s: no file path (sqlite:/path/registry.db)", u.Scheme)
		}
		return registry.OpenSQLite(path)
	default:
		return nil, usagef("--store: unknown scheme %q (postgres://… or sqlite:PATH)", u.Scheme)
	}
}

// runMigrate brings a store's schema up to date and says where it stands.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate --store URI | --data DIR", stderr)
	store := storeFlag(fs)
	dir := fs.String("data", "", "data directory whose SQLite store to migrate (without --store)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *store == "" && (*dir == "" || !registry.Initialized(*dir)) {
		return usagef("--store URI or the --data of an initialized data directory is required")
	}
	st, err := openStore(ctx, *store, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	state, err := registry.Migrations(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "store schema at version %d (migrations applied: %v)\n", state.Latest, state.Applied)
	return nil
}
