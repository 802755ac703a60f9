package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// Every sentinel the chaincode can meet gets the code whose Sentinel a
// client returns, so errors.Is gives the same answer on both sides.
func TestCodeOfAndSentinelAgree(t *testing.T) {
	tests := []struct {
		err  error
		code Code
		want error // the sentinel a client sees
	}{
		{ledger.ErrFinal, CodeFinal, ledger.ErrFinal},
		{ledger.ErrBadSignature, CodeBadSignature, ledger.ErrBadSignature},
		{tlog.ErrBadSignature, CodeBadSignature, ledger.ErrBadSignature},
		{tlog.ErrUnknownKey, CodeBadSignature, ledger.ErrBadSignature},
		{ledger.ErrKeyNotValid, CodeKeyNotValid, ledger.ErrKeyNotValid},
		{ledger.ErrUnknownDepartment, CodeUnknownDepartment, ledger.ErrUnknownDepartment},
		{ledger.ErrDuplicate, CodeDuplicate, ledger.ErrDuplicate},
		{ledger.ErrNotFound, CodeNotFound, ledger.ErrNotFound},
		{tlog.ErrProof, CodeConsistency, ledger.ErrCorrupt},
		{ledger.ErrInvalidEvent, CodeInvalid, ledger.ErrInvalidEvent},
		{tlog.ErrMalformed, CodeInvalid, ledger.ErrInvalidEvent},
		{tlog.ErrWrongOrigin, CodeInvalid, ledger.ErrInvalidEvent},
		{errors.New("disk on fire"), CodeInternal, ledger.ErrUnavailable},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("license x: %w", tt.err)
		if got := CodeOf(wrapped); got != tt.code {
			t.Errorf("CodeOf(%v) = %s, want %s", wrapped, got, tt.code)
		}
		if got := Sentinel(tt.code); got != tt.want {
			t.Errorf("Sentinel(%s) = %v, want %v", tt.code, got, tt.want)
		}
	}
	for _, c := range Codes {
		if Sentinel(c) == nil {
			t.Errorf("code %s has no sentinel", c)
		}
	}
	if Sentinel("ERR_MADE_UP") != nil {
		t.Error("an unknown code has a sentinel")
	}
}

// What the chaincode sends is what the client finds, even inside a peer's
// wrapping text.
func TestErrorTextRoundTrip(t *testing.T) {
	err := Classify(fmt.Errorf("event 2 of 5: %w: license x: field reason", ledger.ErrInvalidEvent))
	var we *Error
	if !errors.As(err, &we) || we.Code != CodeInvalid || !errors.Is(err, ledger.ErrInvalidEvent) {
		t.Fatalf("Classify = %#v", err)
	}
	if Classify(err) != err || Classify(nil) != nil {
		t.Fatal("Classify re-wraps an *Error or wraps nil")
	}
	text := "rpc error: code = Aborted desc = chaincode response 500, " + err.Error()
	code, msg, ok := FindCode(text)
	if !ok || code != CodeInvalid || msg != err.Error() {
		t.Fatalf("FindCode(%q) = %q %q %v", text, code, msg, ok)
	}
	if _, _, ok := FindCode("connection refused"); ok {
		t.Fatal("FindCode found a code in a text without one")
	}
}

func TestDecodeArg(t *testing.T) {
	var c ledger.StatusChange
	if err := DecodeArg("change", `{"id":"x","issuer":"y","status":"revoked","reason":"penalty"}`, &c); err != nil || c.Reason != "penalty" {
		t.Fatalf("DecodeArg = %v, %+v", err, c)
	}
	bad := []struct{ name, arg, want string }{
		{"unknown field", `{"id":"x","note":"张三 110101199003074514"}`, `unknown field "note"`},
		{"trailing data", `{"id":"x"} {}`, "data after the JSON value"},
		{"not JSON", `{`, "argument change"},
		{"too big", `"` + strings.Repeat("a", MaxArgSize) + `"`, fmt.Sprintf("limit %d", MaxArgSize)},
	}
	for _, tt := range bad {
		err := DecodeArg("change", tt.arg, &c)
		var we *Error
		if !errors.As(err, &we) || we.Code != CodeInvalid || !errors.Is(err, ledger.ErrInvalidEvent) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeArg = %v, want ERR_INVALID naming %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckMSPID(t *testing.T) {
	for _, ok := range []string{"Org1MSP", "gov.dept-1_a", strings.Repeat("a", MaxMSPIDLen)} {
		if err := CheckMSPID(ok); err != nil {
			t.Errorf("CheckMSPID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Org 1", "组织", strings.Repeat("a", MaxMSPIDLen+1)} {
		if err := CheckMSPID(bad); CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "argument msp") {
			t.Errorf("CheckMSPID(%q) = %v, want ERR_INVALID on argument msp", bad, err)
		}
	}
}

// Marshal keeps canonical event bytes exactly: no HTML escaping.
func TestMarshalKeepsBytes(t *testing.T) {
	b, err := Marshal(WriteResult{TxID: "t", Entries: nil, Count: 1, Root: []byte{1}})
	if err != nil || string(b) != `{"tx":"t","count":1,"root":"AQ=="}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	b, err = Marshal(LogKey{Origin: "a<b>&c"})
	if err != nil || !strings.Contains(string(b), `"a<b>&c"`) {
		t.Fatalf("Marshal escaped HTML: %s, %v", b, err)
	}
}
