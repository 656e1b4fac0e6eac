package money

import (
	"errors"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"25.50", "25.50", nil},
		{"25.5", "25.50", nil},
		{"25", "25.00", nil},
		{"0.01", "0.01", nil},
		{"1000000000", "1000000000.00", nil},
		{"1000000000.01", "", ErrTooLarge},
		{"0", "", ErrPositive},
		{"0.00", "", ErrPositive},
		{"-1", "", ErrFormat},
		{"1.234", "", ErrFormat},
		{"1e3", "", ErrFormat},
		{" 1", "", ErrFormat},
		{"", "", ErrFormat},
		{".5", "", ErrFormat},
		{"NaN", "", ErrFormat},
		{"99999999999", "", ErrFormat},
	}
	for _, tc := range tests {
		got, err := ParseAmount(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	for in, ok := range map[string]bool{"USD": true, "EUR": true, "usd": false, "US": false, "USDT": false, "": false} {
		if _, err := ParseCurrency(in); (err == nil) != ok {
			t.Errorf("ParseCurrency(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"25.50", "0", "1.234", "1000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAmount(s)
		if err != nil {
			return
		}
		again, err := ParseAmount(got)
		if err != nil || again != got {
			t.Fatalf("ParseAmount(%q) = %q, which reparses as %q, %v", s, got, again, err)
		}
	})
}
