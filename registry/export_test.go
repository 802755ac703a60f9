package registry

import "testing"

// PostgresForTest is postgresForTest for the registry_test package: the URI
// of a fresh schema of ZZ_POSTGRES's database, "" when unset.
func PostgresForTest(t testing.TB) string { return postgresForTest(t) }
