module github.com/campaign-live/campaign-live/services/content

go 1.26.0

require (
	github.com/campaign-live/campaign-live/pkg v0.0.0
	github.com/go-kit/kit v0.13.0
)

replace github.com/campaign-live/campaign-live/pkg => ../../pkg
