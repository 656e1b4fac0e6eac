package view

import (
	"errors"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0", "0"}, {"125.5", "125.5"}, {"0.10", "0.10"}, {"-3", "-3"}, {"-0.05", "-0.05"},
		{"007.25", "7.25"}, {"123456789012345678901234567890.123456789012", "123456789012345678901234567890.123456789012"},
	}
	for _, tc := range tests {
		d, err := ParseDecimal(tc.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q) = %v", tc.in, err)
			continue
		}
		if got := d.String(); got != tc.want {
			t.Errorf("ParseDecimal(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "-", ".5", "5.", "1e3", "+1", " 1", "1 ", "1,5", "0x10", "NaN", "Inf", "1.2.3", "--1",
		"1234567890123456789012345678901", "1.1234567890123"} {
		if _, err := ParseDecimal(bad); !errors.Is(err, ErrAmount) {
			t.Errorf("ParseDecimal(%q) = %v, want ErrAmount", bad, err)
		}
	}
}

func TestDecimalSumIsExact(t *testing.T) {
	// 0.10 + 0.20 is the classic float failure (0.30000000000000004).
	var sum Decimal
	for i := 0; i < 1000; i++ {
		for _, s := range []string{"0.10", "0.20"} {
			d, err := ParseDecimal(s)
			if err != nil {
				t.Fatal(err)
			}
			sum = sum.Add(d)
		}
	}
	if got, want := sum.String(), "300.00"; got != want {
		t.Fatalf("1000 × (0.10 + 0.20) = %s, want %s", got, want)
	}
	if got, want := sum.Fixed(2), "300.00"; got != want {
		t.Fatalf("Fixed(2) = %s, want %s", got, want)
	}
}

func TestDecimalAddAndFixed(t *testing.T) {
	tests := []struct {
		a, b, sum, fixed string
	}{
		{"100", "25.5", "125.5", "125.50"},
		{"0", "0", "0", "0.00"},
		{"1.005", "0", "1.005", "1.01"},    // half away from zero
		{"-1.005", "0", "-1.005", "-1.01"}, // and for negatives
		{"1.004", "0", "1.004", "1.00"},
		{"0.994", "0.001", "0.995", "1.00"},
		{"10.00", "-10.01", "-0.01", "-0.01"},
		{"0.001", "0", "0.001", "0.00"},
		{"99999999999999999999.99", "0.01", "100000000000000000000.00", "100000000000000000000.00"},
	}
	for _, tc := range tests {
		a, _ := ParseDecimal(tc.a)
		b, _ := ParseDecimal(tc.b)
		s := a.Add(b)
		if got := s.String(); got != tc.sum {
			t.Errorf("%s + %s = %s, want %s", tc.a, tc.b, got, tc.sum)
		}
		if got := s.Fixed(2); got != tc.fixed {
			t.Errorf("(%s + %s).Fixed(2) = %s, want %s", tc.a, tc.b, got, tc.fixed)
		}
	}
}

func TestZeroDecimal(t *testing.T) {
	var d Decimal
	if d.String() != "0" || d.Fixed(2) != "0.00" {
		t.Fatalf("zero Decimal = %q / %q, want 0 / 0.00", d.String(), d.Fixed(2))
	}
}
