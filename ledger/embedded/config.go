package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// DefaultOrigin is the log origin (and checkpoint key name) when
// Config.Origin is empty.
const DefaultOrigin = "zhengzhao.local/ledger"

// ErrConfig means a Config is not usable.
var ErrConfig = errors.New("embedded: invalid config")

// Config configures an embedded ledger.
type Config struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// Signer signs checkpoints. The log's checkpoints must verify with its
	// public key, so it must stay the same for the life of the log.
	Signer signing.Signer
	// Origin names the log in its checkpoints and is the checkpoint key
	// name; empty means DefaultOrigin. It must not change for a log.
	Origin string
	// Now is the clock that stamps events; nil means time.Now.
	Now func() time.Time
	// Logger hears what opening the ledger did to its index (rebuilt from
	// the log, or brought up to date with it); nil means silence. The same
	// is in OpenReport.
	Logger *slog.Logger
}

// Validate reports what is missing or malformed in c.
func (c Config) Validate() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: Dir is required", ErrConfig)
	}
	if c.Signer == nil {
		return fmt.Errorf("%w: Signer is required", ErrConfig)
	}
	if c.Origin != "" {
		if err := tlog.CheckKeyName(c.Origin); err != nil {
			return fmt.Errorf("%w: Origin: %w", ErrConfig, err)
		}
	}
	return nil
}

// origin returns the configured origin or the default.
func (c Config) origin() string {
	if c.Origin == "" {
		return DefaultOrigin
	}
	return c.Origin
}
