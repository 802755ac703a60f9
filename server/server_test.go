package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/ledger/embedded"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/server"
	"zhengzhao/verifier"
)

type env struct {
	t        *testing.T
	srv      *httptest.Server
	ledger   *embedded.Ledger
	admin    string
	verifier string
	issuers  []string
	depts    []registry.DemoDepartment
	reg      *registry.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pass := []byte("server-test")
	p, err := registry.CreatePlatform(dir, pass, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e := &env{t: t, ledger: l, reg: reg, depts: registry.DemoDepartments(reg.Catalog())}
	adminActor := registry.Actor{Role: registry.RoleAdmin, Name: "admin"}
	e.admin, _ = reg.CreateToken(ctx, adminActor)
	e.verifier, _ = reg.CreateToken(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "window"})
	for _, d := range e.depts {
		if _, err := reg.RegisterDepartment(ctx, adminActor, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
		tok, err := reg.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: d.USCC, Name: "officer"})
		if err != nil {
			t.Fatal(err)
		}
		e.issuers = append(e.issuers, tok)
	}
	s, err := server.New(server.Config{Registry: reg, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type answer struct {
	status int
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

func (e *env) do(method, path, token string, body []byte) answer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b}
}

// exampleRequest fetches the example request for department i's first type.
// exampleSeq numbers the companies exampleRequest makes up.
var exampleSeq atomic.Int64

func (e *env) exampleRequest(i int) []byte {
	e.t.Helper()
	a := e.do("GET", "/api/v1/types/"+e.depts[i].Types[0]+"/example", "", nil)
	if a.status != 200 {
		e.t.Fatalf("example: %d %s", a.status, a.body)
	}
	typ, _ := license.DefaultCatalog().Type(e.depts[i].Types[0])
	if !typ.OneActive || typ.HolderKind != license.HolderOrganization {
		return a.body
	}
	// A company holds one 营业执照: every example goes to a new company.
	var req map[string]any
	if err := json.Unmarshal(a.body, &req); err != nil {
		e.t.Fatal(err)
	}
	code, err := license.CompleteUSCC(fmt.Sprintf("91320000%09d", exampleSeq.Add(1)))
	if err != nil {
		e.t.Fatal(err)
	}
	req["holderCode"] = code
	b, err := json.Marshal(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) issue(i int) (id string, doc []byte) {
	e.t.Helper()
	a := e.do("POST", "/api/v1/licenses", e.issuers[i], e.exampleRequest(i))
	if a.status != http.StatusCreated {
		e.t.Fatalf("issue: %d %s", a.status, a.body)
	}
	var d struct {
		ID         string          `json:"id"`
		Credential json.RawMessage `json:"credential"`
		Receipt    json.RawMessage `json:"receipt"`
	}
	a.decode(e.t, &d)
	doc, _ = json.Marshal(map[string]json.RawMessage{"credential": d.Credential, "receipt": d.Receipt})
	return d.ID, doc
}

func (e *env) treeSize() uint64 {
	cp, err := e.ledger.Checkpoint(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return cp.Size
}

type apiErr struct {
	Code, Message, Field string
}

// Every route × every role (and anonymous): the server enforces who may do what.
func TestRoutesEnforceRoles(t *testing.T) {
	e := newEnv(t)
	id, doc := e.issue(0)
	const (
		anon = iota
		admin
		verifierRole
		issuerOwn
		issuerOther
	)
	tokens := map[int]string{anon: "", admin: e.admin, verifierRole: e.verifier, issuerOwn: e.issuers[0], issuerOther: e.issuers[1]}
	names := map[int]string{anon: "anonymous", admin: "admin", verifierRole: "verifier", issuerOwn: "issuer", issuerOther: "issuer of another department"}
	type route struct {
		method, path string
		body         func() []byte
		want         map[int]int
	}
	suspend := func() []byte { return []byte(`{"status":"suspended","reason":"under_investigation"}`) }
	routes := []route{
		{"GET", "/healthz", nil, map[int]int{anon: 200, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"GET", "/api/v1/types", nil, map[int]int{anon: 200, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"GET", "/api/v1/types/" + e.depts[0].Types[0] + "/example", nil, map[int]int{anon: 200, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"GET", "/api/v1/bundle", nil, map[int]int{anon: 200, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"POST", "/api/v1/licenses", func() []byte { return e.exampleRequest(0) }, map[int]int{anon: 401, admin: 403, verifierRole: 403, issuerOwn: 201, issuerOther: 403}},
		{"GET", "/api/v1/licenses/" + id, nil, map[int]int{anon: 401, admin: 200, verifierRole: 403, issuerOwn: 200, issuerOther: 404}},
		{"GET", "/api/v1/licenses/" + id + "/pdf", nil, map[int]int{anon: 401, admin: 200, verifierRole: 403, issuerOwn: 200, issuerOther: 404}},
		{"GET", "/api/v1/licenses/" + id + "/qr.png", nil, map[int]int{anon: 401, admin: 200, verifierRole: 403, issuerOwn: 200, issuerOther: 404}},
		{"GET", "/api/v1/departments/" + e.depts[0].USCC + "/seal.png", nil, map[int]int{anon: 200, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"POST", "/api/v1/verify", func() []byte { return doc }, map[int]int{anon: 401, admin: 200, verifierRole: 200, issuerOwn: 200, issuerOther: 200}},
		{"POST", "/api/v1/departments/" + e.depts[2].USCC + "/keys", nil, map[int]int{anon: 401, admin: 201, verifierRole: 403, issuerOwn: 403, issuerOther: 403}},
		// Last: it changes the license's status.
		{"POST", "/api/v1/licenses/" + id + "/status", suspend, map[int]int{anon: 401, admin: 403, verifierRole: 403, issuerOther: 404, issuerOwn: 200}},
	}
	for _, r := range routes {
		for _, who := range []int{anon, admin, verifierRole, issuerOther, issuerOwn} {
			var body []byte
			if r.body != nil {
				body = r.body()
			}
			before := e.treeSize()
			a := e.do(r.method, r.path, tokens[who], body)
			if a.status != r.want[who] {
				t.Errorf("%s %s as %s: %d %s, want %d", r.method, r.path, names[who], a.status, a.body, r.want[who])
			}
			if a.status >= 400 && e.treeSize() != before {
				t.Errorf("%s %s as %s: refused but the ledger grew", r.method, r.path, names[who])
			}
			if a.status >= 400 {
				var ae apiErr
				a.decode(t, &ae)
				if ae.Code == "" || ae.Message == "" {
					t.Errorf("%s %s as %s: error body %s lacks code/message", r.method, r.path, names[who], a.body)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	good := e.exampleRequest(0)
	var req map[string]any
	json.Unmarshal(good, &req)
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for kk, vv := range req {
			m[kk] = vv
		}
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	hc := req["holderCode"].(string)
	last := "0"
	if hc[17] == '0' {
		last = "1"
	}
	badHolderCode := hc[:17] + last
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"unknown type", with("type", "11100000000013338W999"), 400, "invalid", "type"},
		{"missing holder", with("holder", ""), 400, "invalid", "holder"},
		{"invalid USCC", with("holderCode", badHolderCode), 400, "invalid", "holderCode"},
		{"malformed JSON", []byte(`{"type": `), 400, "malformed_json", ""},
		{"unknown member", with("colour", "red"), 400, "malformed_json", "colour"},
		{"wrong JSON type", with("fields", "x"), 400, "malformed_json", "fields"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), 400, "malformed_json", ""},
		{"over 1 MiB", with("holder", strings.Repeat("x", server.MaxBody)), 413, "too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.treeSize()
			a := e.do("POST", "/api/v1/licenses", e.issuers[0], tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tt.status)
			}
			var ae apiErr
			a.decode(t, &ae)
			if ae.Code != tt.code || (tt.field != "" && ae.Field != tt.field) {
				t.Errorf("error %+v, want code %s field %s", ae, tt.code, tt.field)
			}
			if e.treeSize() != before {
				t.Error("the ledger grew on bad input")
			}
		})
	}
}

func TestVerifyEndpoint(t *testing.T) {
	e := newEnv(t)
	id, doc := e.issue(0)
	verify := func(body []byte) verifier.Result {
		t.Helper()
		a := e.do("POST", "/api/v1/verify", e.verifier, body)
		if a.status != 200 {
			t.Fatalf("verify: %d %s", a.status, a.body)
		}
		var r verifier.Result
		a.decode(t, &r)
		return r
	}
	if r := verify(doc); r.Verdict != verifier.VerdictValid || r.Mode != "online" {
		t.Fatalf("fresh license: %s (%s) %+v", r.Verdict, r.Mode, r.Checks)
	}
	// A changed field, garbage and duplicate keys are results, never 500s.
	changed := bytes.Replace(doc, []byte(`"holder":"`), []byte(`"holder":"假`), 1)
	for name, body := range map[string][]byte{
		"changed field": changed,
		"garbage":       []byte("not json at all"),
		"duplicate key": []byte(`{"credential":{"id":"a","id":"b"}}`),
		"empty":         nil,
	} {
		if r := verify(body); r.Valid {
			t.Errorf("%s: verdict %s", name, r.Verdict)
		}
	}
	a := e.do("POST", "/api/v1/licenses/"+id+"/status", e.issuers[0], []byte(`{"status":"revoked","reason":"penalty"}`))
	if a.status != 200 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if r := verify(doc); r.Verdict != verifier.VerdictRevoked {
		t.Errorf("after revoke: %s", r.Verdict)
	}
	// Revoked is final: 409.
	a = e.do("POST", "/api/v1/licenses/"+id+"/status", e.issuers[0], []byte(`{"status":"active","reason":"rectified"}`))
	if a.status != http.StatusConflict {
		t.Errorf("un-revoke: %d %s, want 409", a.status, a.body)
	}
}

// getWith GETs path with extra request headers and returns the response.
func (e *env) getWith(path string, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The bundle and the status lists are served from memory with an ETag;
// a client that holds the current one gets 304 and no body.
func TestBundleAndStatusListsRevalidate(t *testing.T) {
	e := newEnv(t)
	id, _ := e.issue(0)
	for _, path := range []string{"/api/v1/bundle", "/status/" + e.depts[0].USCC + "/message/0"} {
		resp, body := e.getWith(path, nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag == "" || len(body) == 0 || resp.Header.Get("Cache-Control") == "" {
			t.Fatalf("GET %s: %d, ETag %q, Cache-Control %q", path, resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
		}
		again, body2 := e.getWith(path, nil)
		if again.Header.Get("ETag") != etag || !bytes.Equal(body, body2) {
			t.Fatalf("GET %s twice: another body for the same state", path)
		}
		resp, body = e.getWith(path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("GET %s with If-None-Match: %d, %d bytes; want 304, none", path, resp.StatusCode, len(body))
		}
	}
	// A status change re-signs the list: a new ETag.
	resp, _ := e.getWith("/status/"+e.depts[0].USCC+"/message/0", nil)
	before := resp.Header.Get("ETag")
	if a := e.do("POST", "/api/v1/licenses/"+id+"/status", e.issuers[0], []byte(`{"status":"cancelled","reason":"deregistered"}`)); a.status != 200 {
		t.Fatalf("cancel: %d %s", a.status, a.body)
	}
	resp, _ = e.getWith("/status/"+e.depts[0].USCC+"/message/0", map[string]string{"If-None-Match": before})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == before {
		t.Fatalf("after a cancellation the list is still %d %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
	for _, path := range []string{"/status/" + e.depts[0].USCC + "/message/7", "/status/" + e.depts[0].USCC + "/message/01", "/status/91430100MA4L12345A/message/0"} {
		if resp, _ := e.getWith(path, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	// A consistency proof between two sizes of the log verifies.
	if a := e.do("GET", "/api/v1/log/consistency?from=2&to=1", "", nil); a.status != 400 {
		t.Errorf("consistency from > to: %d, want 400", a.status)
	}
	if a := e.do("GET", "/api/v1/log/consistency?from=1&to=2", "", nil); a.status != 200 || !bytes.Contains(a.body, []byte(`"proof"`)) {
		t.Errorf("consistency proof: %d %s", a.status, a.body)
	}
}

// Racing status changes of one license end in 200 or 409 naming the
// current status, never 500.
func TestConcurrentStatusChangesAre409(t *testing.T) {
	e := newEnv(t)
	id, _ := e.issue(0)
	if a := e.do("POST", "/api/v1/licenses/"+id+"/status", e.issuers[0], []byte(`{"status":"suspended","reason":"under_investigation"}`)); a.status != 200 {
		t.Fatalf("suspend: %d %s", a.status, a.body)
	}
	var wg sync.WaitGroup
	codes := make([]int, 12)
	bodies := make([][]byte, 12)
	for i := range codes {
		body := `{"status":"active","reason":"rectified"}`
		if i%2 == 0 {
			body = `{"status":"revoked","reason":"penalty"}`
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/licenses/"+id+"/status", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.issuers[0])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			bodies[i], _ = io.ReadAll(resp.Body)
		}()
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
			if !bytes.Contains(bodies[i], []byte("当前状态为")) && !bytes.Contains(bodies[i], []byte("已是")) {
				t.Errorf("409 without the current status: %s", bodies[i])
			}
		default:
			t.Errorf("a racing status change answered %d: %s", c, bodies[i])
		}
	}
	if ok == 0 || ok > 2 {
		t.Errorf("%d changes went through, want 1 or 2", ok)
	}
}

// The example request of a type a holder may hold only one of names a
// made-up holder each time, so that it can be issued as it is (the README's
// tour does).
func TestTypeExampleIsIssuable(t *testing.T) {
	e := newEnv(t)
	for _, typ := range e.reg.Catalog().Types() {
		if !typ.OneActive {
			continue
		}
		a := e.do("GET", "/api/v1/types/"+typ.Code+"/example", "", nil)
		b := e.do("GET", "/api/v1/types/"+typ.Code+"/example", "", nil)
		var ra, rb registry.IssueRequest
		if json.Unmarshal(a.body, &ra) != nil || json.Unmarshal(b.body, &rb) != nil {
			t.Fatalf("%s example: %s", typ.Name, a.body)
		}
		if ra.HolderCode == rb.HolderCode {
			t.Errorf("%s: the example names the same holder twice", typ.Name)
		}
		validate := license.ValidateUSCC
		if typ.HolderKind == license.HolderCitizen {
			validate = license.ValidateCitizenID
		}
		if err := validate(ra.HolderCode); err != nil {
			t.Errorf("%s: example holder code %s: %v", typ.Name, ra.HolderCode, err)
		}
	}
}
