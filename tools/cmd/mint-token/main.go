// Command mint-token prints a local HS256 token for development and tests:
//
//	go run ./tools/cmd/mint-token -sub 1 -username ada
//
// It signs with AUTH_JWT_SECRET (default local-dev-secret), the same secret
// `make run` gives the services. Production tokens come from the platform's
// identity provider, never from here.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

func main() {
	sub := flag.Int64("sub", 1, "user id (the `sub` claim)")
	username := flag.String("username", "dev", "the `username` claim")
	ttl := flag.Duration("ttl", 24*time.Hour, "validity")
	flag.Parse()
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = "local-dev-secret"
	}
	if *sub <= 0 || *username == "" {
		fmt.Fprintln(os.Stderr, "mint-token: -sub must be positive and -username non-empty")
		os.Exit(2)
	}
	tok, err := auth.Mint([]byte(secret), auth.User{ID: *sub, Username: *username}, *ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mint-token:", err)
		os.Exit(1)
	}
	fmt.Println(tok)
}
