module github.com/campaign-live/campaign-live/services/comment

go 1.26.0

require github.com/campaign-live/campaign-live/pkg v0.0.0

replace github.com/campaign-live/campaign-live/pkg => ../../pkg
