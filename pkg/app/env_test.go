package app

import (
	"strings"
	"testing"
	"time"
)

func TestEnvReportsEveryBadVariable(t *testing.T) {
	e := NewEnvFrom(map[string]string{
		"N": "abc", "D": "-1s", "OK": "7", "L": " a, b ,", "S": " x ",
	})
	if got := e.Int("OK", 1, 0, 10); got != 7 {
		t.Errorf("Int(OK) = %d, want 7", got)
	}
	if got := e.List("L", nil); strings.Join(got, "|") != "a|b" {
		t.Errorf("List(L) = %q", got)
	}
	if got := e.String("S", "d"); got != "x" {
		t.Errorf("String(S) = %q", got)
	}
	if got := e.String("UNSET", "d"); got != "d" {
		t.Errorf("String(UNSET) = %q", got)
	}
	e.Int("N", 1, 0, 10)
	e.Duration("D", time.Second)
	e.Required("MISSING")
	err := e.Err()
	if err == nil {
		t.Fatal("Err() = nil, want the three bad variables")
	}
	for _, name := range []string{"N=", "D=", "MISSING"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestEnvBool(t *testing.T) {
	e := NewEnvFrom(map[string]string{"ON": "true", "OFF": "0", "BAD": "maybe"})
	if !e.Bool("ON", false) || e.Bool("OFF", true) || !e.Bool("UNSET", true) {
		t.Error("Bool misread a set or unset variable")
	}
	if e.Bool("BAD", false) {
		t.Error("Bool(BAD) is not its default")
	}
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "BAD=") {
		t.Errorf("Err() = %v, want BAD named", err)
	}
}
