module github.com/campaign-live/campaign-live/test/k8s

go 1.26.7
