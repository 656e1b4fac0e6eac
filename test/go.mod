module github.com/campaign-live/campaign-live/test

go 1.26.0

require github.com/campaign-live/campaign-live/pkg v0.0.0

require github.com/gorilla/websocket v1.5.3 // indirect

replace github.com/campaign-live/campaign-live/pkg => ../pkg
