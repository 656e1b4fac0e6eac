// Package money validates and normalizes the decimal amounts that travel as
// strings ("25.50"): goals, contributions, milestone targets. Amounts are
// never floats; arithmetic on them happens in Postgres numeric columns.
package money

import (
	"errors"
	"regexp"

	"github.com/shopspring/decimal"
)

// Max is the largest amount accepted anywhere: 1,000,000,000.00.
var Max = decimal.New(1, 9)

var (
	amountRE   = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,2})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Errors of ParseAmount and ParseCurrency; their text is shown to clients.
var (
	ErrFormat   = errors.New(`must be a decimal string with at most 2 decimals, such as "25.50"`)
	ErrPositive = errors.New("must be greater than 0")
	ErrTooLarge = errors.New("must be at most 1000000000.00")
	ErrCurrency = errors.New(`must be an ISO 4217 code of 3 capital letters, such as "USD"`)
)

// ParseAmount checks s is a positive amount with at most two decimals, at
// most Max, and returns it normalized to two decimals ("25.5" → "25.50").
func ParseAmount(s string) (string, error) {
	if !amountRE.MatchString(s) {
		return "", ErrFormat
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return "", ErrFormat
	}
	switch {
	case !d.IsPositive():
		return "", ErrPositive
	case d.GreaterThan(Max):
		return "", ErrTooLarge
	}
	return d.StringFixed(2), nil
}

// ParseCurrency checks s is a currency code.
func ParseCurrency(s string) (string, error) {
	if !currencyRE.MatchString(s) {
		return "", ErrCurrency
	}
	return s, nil
}
