package workflows

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"

	"go.temporal.io/sdk/converter"
)

// TestCompressSameAsNewWriter: a cached, reset zlib writer gives the bytes
// a new BestCompression writer gives (a record packed again on replay is
// the same); a stored record is a zlib stream of its bytes; both decompress
// to the input.
func TestCompressSameAsNewWriter(t *testing.T) {
	for i, raw := range [][]byte{
		[]byte(`{"steps":[]}`),
		bytes.Repeat([]byte(`{"state":"Done","outputs":{"id":"x-1"}},`), 2000),
		{},
		bytes.Repeat([]byte("abc"), 100000),
		bytes.Repeat([]byte("z"), 0xffff),
		bytes.Repeat([]byte("y"), 0xffff+1),
		[]byte(`{"steps":[{"state":"Done"}]}`),
	} {
		for round := 0; round < 4; round++ {
			level := []int{zlib.BestCompression, levelStored}[round%2]
			got, err := compress(raw, level)
			if err != nil {
				t.Fatal(err)
			}
			if level == zlib.BestCompression {
				var want bytes.Buffer
				zw, _ := zlib.NewWriterLevel(&want, level)
				zw.Write(raw)
				zw.Close()
				if !bytes.Equal(got, want.Bytes()) {
					t.Errorf("case %d round %d: cached writer gave %d bytes, a new writer %d", i, round, len(got), want.Len())
				}
			} else if len(got) < len(raw) {
				t.Errorf("case %d: stored %d bytes in %d", i, len(raw), len(got))
			}
			zr, err := zlib.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("case %d level %d: %v", i, level, err)
			}
			back, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(back, raw) {
				t.Errorf("case %d level %d: decompressed %d bytes (%v), want %d", i, level, len(back), err, len(raw))
			}
		}
	}
	if _, err := compress([]byte("x"), zlib.BestSpeed); err == nil {
		t.Error("compress at an unknown level: no error")
	}
}

// TestEncodeFitting: the payload encodeFitting returns is the one the SDK
// makes of the value (what a RawValue hands on), and a value over the limit
// is refused with tooBig's message.
func TestEncodeFitting(t *testing.T) {
	g := GrantRecord{RequestID: "topoflow/Workflow/x", Outputs: map[string]any{"a": "b"}, Audit: []AuditEntry{{Step: "s1"}}}
	p, msg := encodeFitting("the record", g)
	if msg != "" || p == nil {
		t.Fatalf("encodeFitting: %q", msg)
	}
	want, err := converter.GetDefaultDataConverter().ToPayload(g)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := converter.GetDefaultDataConverter().ToPayloads(converter.NewRawValue(p))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw.GetPayloads()[0].GetData(), want.GetData()) || string(raw.GetPayloads()[0].GetMetadata()["encoding"]) != string(want.GetMetadata()["encoding"]) {
		t.Errorf("the raw value's payload differs from the encoded record")
	}
	defer func(l int) { carryLimit = l }(carryLimit)
	carryLimit = 10
	if p, msg := encodeFitting("the record", g); p != nil || msg != tooBig("the record", g) || msg == "" {
		t.Errorf("over the limit: payload %v, message %q (tooBig %q)", p != nil, msg, tooBig("the record", g))
	}
}
