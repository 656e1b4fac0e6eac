package view

import (
	"errors"
	"math/big"
	"strings"
)

// ErrAmount reports a money string that is not a plain decimal.
var ErrAmount = errors.New("invalid amount")

// Decimal is an exact decimal number, unscaled / 10^scale. Money is summed
// as Decimal, never as a float: 0.10 + 0.20 is 0.30. The zero value is 0.
type Decimal struct {
	unscaled *big.Int
	scale    int
}

// maxDigits bounds the integer and fraction digits ParseDecimal accepts, so a
// hostile amount cannot make the sum expensive.
const (
	maxIntDigits  = 30
	maxFracDigits = 12
)

// ParseDecimal reads a plain decimal such as "125.5", "-3" or "0.10": an
// optional minus, digits, and optionally a point and digits. Exponents,
// spaces, "+" and a bare point are refused.
func ParseDecimal(s string) (Decimal, error) {
	digits := strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(digits, ".")
	if intPart == "" || len(intPart) > maxIntDigits || (hasPoint && frac == "") || len(frac) > maxFracDigits ||
		!allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, ErrAmount
	}
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return Decimal{}, ErrAmount
	}
	if len(s) > len(digits) {
		u.Neg(u)
	}
	return Decimal{unscaled: u, scale: len(frac)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (d Decimal) int() *big.Int {
	if d.unscaled == nil {
		return new(big.Int)
	}
	return d.unscaled
}

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// rescaled returns d's unscaled value at scale s >= d.scale.
func (d Decimal) rescaled(s int) *big.Int {
	return new(big.Int).Mul(d.int(), pow10(s-d.scale))
}

// Add returns d + e, exactly, at the larger of their scales.
func (d Decimal) Add(e Decimal) Decimal {
	s := max(d.scale, e.scale)
	return Decimal{unscaled: new(big.Int).Add(d.rescaled(s), e.rescaled(s)), scale: s}
}

// String returns d exactly, with its own number of decimals ("0.30").
// Postgres reads it as a numeric without loss.
func (d Decimal) String() string { return format(d.int(), d.scale) }

// Fixed returns d rounded to n decimals, halves away from zero: how money is
// shown ("125.50").
func (d Decimal) Fixed(n int) string {
	if n >= d.scale {
		return format(d.rescaled(n), n)
	}
	div := pow10(d.scale - n)
	q, r := new(big.Int).QuoRem(d.int(), div, new(big.Int))
	// |r|*2 >= div rounds away from zero; QuoRem truncates toward zero.
	if r.Abs(r).Lsh(r, 1).Cmp(div) >= 0 {
		if d.int().Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return format(q, n)
}

func format(u *big.Int, scale int) string {
	neg := u.Sign() < 0
	s := new(big.Int).Abs(u).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
