package app

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from environment variables, with defaults, and
// collects every invalid value so a service can report all of them at once,
// each naming its variable.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// NewEnv reads the process environment.
func NewEnv() *Env { return &Env{lookup: os.LookupEnv} }

// NewEnvFrom reads from m, for tests.
func NewEnvFrom(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func (e *Env) get(key string) (string, bool) {
	v, ok := e.lookup(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (e *Env) fail(key, value, want string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: %s", key, value, want))
}

// String returns the variable or def.
func (e *Env) String(key, def string) string {
	if v, ok := e.get(key); ok {
		return v
	}
	return def
}

// Required returns the variable, recording an error when it is unset.
func (e *Env) Required(key string) string {
	v, ok := e.get(key)
	if !ok {
		e.errs = append(e.errs, fmt.Errorf("%s: required", key))
	}
	return v
}

// Int returns the variable as an integer within [min, max], or def.
func (e *Env) Int(key string, def, min, max int) int {
	v, ok := e.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.fail(key, v, fmt.Sprintf("want an integer from %d to %d", min, max))
		return def
	}
	return n
}

// Bool returns the variable as a boolean ("true", "false", "1", "0"), or def.
func (e *Env) Bool(key string, def bool) bool {
	v, ok := e.get(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(key, v, "want true or false")
		return def
	}
	return b
}

// Duration returns the variable as a positive duration ("250ms", "5s"), or def.
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v, ok := e.get(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(key, v, "want a positive duration such as 250ms or 5s")
		return def
	}
	return d
}

// List returns the comma-separated variable, or def.
func (e *Env) List(key string, def []string) []string {
	v, ok := e.get(key)
	if !ok {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		e.fail(key, v, "want a comma-separated list")
		return def
	}
	return out
}

// Err returns every invalid value, joined, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(e.errs...))
}

// Parsed returns the variable (or def) after checking it with parse, which
// says what is wrong with a bad value.
func (e *Env) Parsed(key, def string, parse func(string) error) string {
	v := e.String(key, def)
	if err := parse(v); err != nil {
		e.fail(key, v, err.Error())
	}
	return v
}
