package verifier_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

var update = flag.Bool("update", false, "rewrite the golden trust world under testdata/")

// golden is a trust world frozen under testdata/: a signed bundle and
// licenses issued in it, bare and as documents with receipts. It keeps the
// formats stable and gives the fuzzers one world shared by all their worker
// processes.
type golden struct {
	bundleJSON []byte
	bundle     *verifier.TrustBundle
	pin        string   // the root fingerprint
	inputs     [][]byte // credentials and documents, all valid at verifiertest.Now
	known      map[string]bool
	online     *fakeLedger
}

var goldenNames = []string{"business", "food", "property"}

func writeGolden(t testing.TB) {
	w := verifiertest.NewWorld(t)
	issued := []*verifiertest.License{
		w.Issue(w.Departments[0], typeBusiness),
		w.Issue(w.Departments[0], typeFood),
		w.Issue(w.Departments[1], typeProperty),
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	write("bundle.json", w.SignedBundle(nil))
	write("root-fingerprint", []byte(w.RootFingerprint()+"\n"))
	for i, l := range issued {
		write(goldenNames[i]+".credential.json", l.JSON)
		write(goldenNames[i]+".document.json", l.Document)
	}
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update)", err)
		}
		return data
	}
	g := &golden{bundleJSON: read("bundle.json"), known: map[string]bool{}, online: &fakeLedger{states: map[string]*ledger.LicenseState{}}}
	var err error
	g.pin = strings.TrimSpace(string(read("root-fingerprint")))
	if g.bundle, err = verifier.ParseBundle(g.bundleJSON, verifier.WithRootFingerprint(g.pin)); err != nil {
		t.Fatal(err)
	}
	for _, name := range goldenNames {
		cred, doc := read(name+".credential.json"), read(name+".document.json")
		g.inputs = append(g.inputs, cred, doc)
		c, err := credential.Parse(cred)
		if err != nil {
			t.Fatal(err)
		}
		ph, dh, err := c.Hashes()
		if err != nil {
			t.Fatal(err)
		}
		g.known[string(ph)+string(dh)] = true
		d, ok := documentOf(doc)
		if !ok || d.Receipt == nil {
			t.Fatalf("%s.document.json has no receipt", name)
		}
		ev, err := ledger.ParseEvent(d.Receipt.Entry)
		if err != nil || ev.Anchor == nil {
			t.Fatalf("%s.document.json: receipt entry: %v", name, err)
		}
		g.online.states[c.Identifier()] = &ledger.LicenseState{Anchor: *ev.Anchor, AnchoredAt: ev.At, LogIndex: d.Receipt.LogIndex, Status: license.StatusActive}
	}
	return g
}

// TestGolden checks the frozen world still verifies: a bundle and credentials
// made by an earlier build stay readable and valid.
func TestGolden(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	g := loadGolden(t)
	for _, p := range []verifier.Policy{{At: verifiertest.Now}, {At: verifiertest.Now, Online: g.online}} {
		for i, in := range g.inputs {
			r, err := verifier.Verify(context.Background(), in, g.bundle, p)
			if err != nil || !r.Valid {
				t.Errorf("input %d (%s): %v %+v", i, r.Mode, err, r)
			}
		}
	}
}
