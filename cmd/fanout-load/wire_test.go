package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestParseMsg checks the fast parser against encoding/json, the
// reference: the same fields for every message it accepts, an error for
// every one that is not a JSON object.
func TestParseMsg(t *testing.T) {
	valid := []string{
		`{"type":"snapshot","topic":"game:123","epoch":"k3Xq9a_Z","seq":41,"data":{"score":"1-1"}}`,
		`{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data":{"event":"goal","score":"2-1"}}`,
		`{"type":"update","topic":"t","epoch":"E","seq":9,"gap":true,"data":[1,"a\"b",{"c":[]}]}`,
		`{"type":"reset","topic":"t","epoch":"E","seq":0,"data":null}`,
		`{"type":"subscribed","topic":"t","id":7}`,
		`{"type":"unsubscribed","topic":"t","reason":"requested","id":8}`,
		`{"type":"error","code":"limit","message":"too many topics","id":1,"topic":"t"}`,
		` { "type" : "update" , "topic":"t", "epoch":"E", "seq": 18446744073709551615, "data" : "x" , "gap":false} `,
		`{"type":"update","topic":"t\u00e9","epoch":"E","seq":1,"data":1}`, // an escape: the slow path
		`{"type":"update","topic":"t","epoch":"E","seq":null,"data":-1.5e3}`,
		`{"type":"update","extra":{"nested":[{"deep":"}"}]},"topic":"t","epoch":"E","seq":3,"data":true}`,
		`{}`,
		`{"type":"occupancy","topic":"game:123","count":12408}`,
		string(append(append([]byte(`{"type":"update","topic":"load:1","epoch":"E","seq":5,"data":`),
			payload(nil, time.Now(), 5, 128)...), '}')),
	}
	for _, s := range valid {
		var got, want wireMsg
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("the reference rejects %s: %v", s, err)
		}
		if err := parseMsg([]byte(s), &got); err != nil {
			t.Errorf("parseMsg(%s): %v", s, err)
			continue
		}
		if (got.Seq == nil) != (want.Seq == nil) || got.Seq != nil && *got.Seq != *want.Seq {
			t.Errorf("parseMsg(%s): seq %v, want %v", s, got.Seq, want.Seq)
		}
		if (got.Count == nil) != (want.Count == nil) || got.Count != nil && *got.Count != *want.Count {
			t.Errorf("parseMsg(%s): count %v, want %v", s, got.Count, want.Count)
		}
		got.Seq, want.Seq, got.seq, want.seq = nil, nil, 0, 0
		got.Count, want.Count, got.count, want.count = nil, nil, 0, 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseMsg(%s) = %+v, want %+v", s, got, want)
		}
	}
	invalid := []string{
		``, `null`, `[]`, `"update"`, `{`, `{"type":"update"`, `{"type":"update",}`, `{"type" "update"}`,
		`{"type":"update","data":{"a":1}`, `{"type":"update","data":}`, `{"type":"update"} x`,
		`{"type":"update","data":"unterminated}`, `{"type":"update","data":[1,2}`, `{"seq":-1}`,
		`{"type":5}`, `{"gap":"yes"}`, `{"seq":99999999999999999999}`, `{"seq":1.0}`,
	}
	for _, s := range invalid {
		var m wireMsg
		if err := parseMsg([]byte(s), &m); err == nil {
			t.Errorf("parseMsg(%s) accepted it: %+v", s, m)
		}
	}
}
