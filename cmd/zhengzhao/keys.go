package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// runKeys is `zhengzhao keys revoke|rotate`: through a running server with
// an admin token (--server), or on a stopped data directory (--data, the
// same as zhengzhao admin department revoke-key|rotate-key).
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "revoke" && args[0] != "rotate") {
		fmt.Fprintln(stderr, "Usage: zhengzhao keys revoke --uscc USCC --key KEYID --compromised-from RFC3339 [--reason CODE] (--server URL --token TOKEN | --data DIR)")
		fmt.Fprintln(stderr, "       zhengzhao keys rotate --uscc USCC (--server URL --token TOKEN | --data DIR)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("keys needs revoke or rotate")
	}
	if !hasFlag(args[1:], "server") {
		verb := map[string]string{"revoke": "revoke-key", "rotate": "rotate-key"}[args[0]]
		return runAdmin(ctx, append([]string{"department", verb}, args[1:]...), stdout, stderr)
	}
	fs := newFlags("keys "+args[0], "keys "+args[0]+" --server URL --token TOKEN --uscc USCC ...", stderr)
	srv := fs.String("server", "http://127.0.0.1:8080", "server URL")
	token := fs.String("token", os.Getenv("ZHENGZHAO_TOKEN"), "an admin API token (default: $ZHENGZHAO_TOKEN)")
	uscc := fs.String("uscc", "", "the department's USCC")
	keyID := fs.String("key", "", "the key id to revoke")
	from := fs.String("compromised-from", "", "when the compromise began, RFC 3339")
	reason := fs.String("reason", license.ReasonKeyCompromise, "reason code: key_compromise or department_closed")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	base := strings.TrimRight(*srv, "/") + "/api/v1/departments/" + strings.ToUpper(strings.TrimSpace(*uscc)) + "/keys"
	var d registry.Department
	if args[0] == "rotate" {
		if err := call(ctx, http.MethodPost, base, *token, []byte("{}"), &d); err != nil {
			return err
		}
		printRevoked(stdout, &d, "")
		return nil
	}
	req, err := keyRevocation(*from, *reason)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := call(ctx, http.MethodPost, base+"/"+strings.TrimSpace(*keyID)+"/revoke", *token, body, &d); err != nil {
		return err
	}
	printRevoked(stdout, &d, *keyID)
	return nil
}

// hasFlag reports whether args set the flag name (-name, --name, --name=…).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}
