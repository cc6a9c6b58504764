package dicomenc

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestFormatDS(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0"}, {1e-17, "0"}, {-0.25, "-0.25"}, {0.30000001192092896, "0.30000001192093"},
		{-73.06099700927734, "-73.060997009277"}, {123456789012345678, "1.2345678901e+17"},
	} {
		got := FormatDS(tc.x)
		if got != tc.want || len(got) > 16 {
			t.Errorf("FormatDS(%v) = %q, want %q", tc.x, got, tc.want)
		}
		back, err := strconv.ParseFloat(got, 64)
		if err != nil || (tc.x != 0 && abs(back-tc.x) > 1e-9*abs(tc.x)+1e-10) {
			t.Errorf("FormatDS(%v) = %q reads back as %v", tc.x, got, back)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestStrPadding(t *testing.T) {
	for _, tc := range []struct {
		e    Element
		want string
	}{
		{Str(T(8, 0x60), "CS", "CT"), "CT"},
		{Str(T(8, 0x70), "LO", "abc"), "abc "},
		{Str(T(8, 0x18), "UI", "1.2.3"), "1.2.3\x00"},
		{Str(T(8, 8), "CS", "DERIVED", "PRIMARY"), `DERIVED\PRIMARY `},
		{Str(T(8, 0x20), "DA"), ""},
	} {
		if string(tc.e.Value) != tc.want {
			t.Errorf("%v %s: %q, want %q", tc.e.Tag, tc.e.VR, tc.e.Value, tc.want)
		}
	}
}

func TestUID(t *testing.T) {
	a, b, c := UID("x", "1"), UID("x", "1"), UID("x1")
	if a != b || a == c {
		t.Errorf("UIDs %s %s %s: same parts must give the same UID, different parts another", a, b, c)
	}
	if !strings.HasPrefix(a, "2.25.") || len(a) > 64 || strings.HasPrefix(a[5:], "0") {
		t.Errorf("UID %s is not a valid 2.25 UID", a)
	}
}

// TestEncode: tags sorted, lengths right, duplicates refused.
func TestEncode(t *testing.T) {
	b, err := Encode(Dataset{US(T(0x28, 0x10), 5), Seq(T(0x8, 0x1115), Dataset{Str(T(0x20, 0xE), "UI", "1.2")})})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x08, 0x00, 0x15, 0x11, 'S', 'Q', 0, 0, 20, 0, 0, 0, // sequence, 20 bytes
		0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0, // item, 12 bytes
		0x20, 0x00, 0x0E, 0x00, 'U', 'I', 4, 0, '1', '.', '2', 0,
		0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0, 5, 0,
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoded\n% x\nwant\n% x", b, want)
	}
	if _, err := Encode(Dataset{US(T(0x28, 0x10), 1), US(T(0x28, 0x10), 2)}); err == nil {
		t.Error("a duplicate tag was encoded")
	}
	var w bytes.Buffer
	if err := Write(&w, "1.2", "3.4", Dataset{Str(T(2, 0x10), "UI", "1.2")}); err == nil {
		t.Error("a file meta element in the data set was accepted")
	}
}
