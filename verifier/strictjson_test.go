package verifier

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckStrictJSON(t *testing.T) {
	many := `{`
	for i := range 40 {
		if i > 0 {
			many += ","
		}
		many += `"k` + strconv.Itoa(i) + `":1`
	}
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a":[1,2.5e3,-0,true,false,null,"x\u00e9\n"],"b":{"c":{}}} `, true},
		{`"s"`, true},
		{`0`, true},
		{many + `}`, true},
		{many + `,"k0":2}`, false},
		{`{"a":1,"a":2}`, false},
		{`{"a":1,"\u0061":2}`, false},
		{`{"a":{"b":1,"b":1}}`, false},
		{`[{"b":1,"b":1}]`, false},
		{`{"a":1}{}`, false},
		{`{"a":1} x`, false},
		{``, false},
		{`{`, false},
		{`{"a"}`, false},
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`01`, false},
		{`1.`, false},
		{`1e`, false},
		{`1e999`, false},
		{`"\x"`, false},
		{`"\u12"`, false},
		{"\"\x01\"", false},
		{"\"\xff\"", false},
		{`tru`, false},
		{strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2), false},
	}
	for _, tt := range tests {
		err := checkStrictJSON([]byte(tt.in))
		if got := err == nil; got != tt.want {
			t.Errorf("checkStrictJSON(%.40q) = %v, want ok %v", tt.in, err, tt.want)
		}
		if err != nil && !errors.Is(err, errJSON) {
			t.Errorf("checkStrictJSON(%.40q) = %v, want errJSON", tt.in, err)
		}
	}
}

func TestTopMembers(t *testing.T) {
	members, ok, err := topMembers([]byte(` {"credential": {"a":1} , "receipt":null}`))
	if err != nil || !ok || len(members) != 2 || members[0].name != "credential" || string(members[0].value) != `{"a":1}` || string(members[1].value) != "null" {
		t.Errorf("topMembers = %+v, %v, %v", members, ok, err)
	}
	if _, ok, err := topMembers([]byte(`[1]`)); ok || err != nil {
		t.Errorf("array: ok %v err %v", ok, err)
	}
}

// FuzzStrictJSON: whatever the strict scanner accepts, encoding/json accepts.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"b",{"c":null}]}`, `{"a":1,"a":2}`, `"\u00e9"`, `-1.5e-3`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkStrictJSON(data) == nil && !json.Valid(data) {
			t.Errorf("accepted invalid JSON %q", data)
		}
	})
}
