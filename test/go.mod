module github.com/campaign-live/campaign-live/test

go 1.26.0

require github.com/campaign-live/campaign-live/pkg v0.0.0

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/go-kit/kit v0.13.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/websocket v1.5.3
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/campaign-live/campaign-live/pkg => ../pkg
