# campaign-live — the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES := pkg services/content services/contribution services/comment services/milestone services/fanout services/gateway tools test
TOOLS_BIN := $(CURDIR)/bin/tools
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
GO_PKG := github.com/campaign-live/campaign-live/pkg

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: run
run: ## start Postgres, Kafka and every service; the system is on http://localhost:8080
	@scripts/deps.sh
	@scripts/web.sh build
	@scripts/stack/stack.sh up
	@scripts/run.sh up
	@echo
	@echo "campaign-live is ready on http://localhost:8080"
	@echo "  a token:     bin/mint-token -sub 1 -username ada    (HS256, AUTH_JWT_SECRET=$${AUTH_JWT_SECRET:-local-dev-secret})"
	@echo "  a campaign:  curl -H \"Authorization: Bearer \$$(bin/mint-token)\" -H 'Content-Type: application/json' -d '{\"title\":\"Demo\",\"description\":\"\",\"goal_amount\":\"1000.00\",\"currency\":\"USD\"}' localhost:8080/api/campaigns"
	@echo "  watch it:    ws://localhost:8080/ws/campaign/1/"
	@echo "  logs:        .run/log/    stop: make stop"

.PHONY: stop
stop: ## stop everything make run started
	@scripts/run.sh down
	@scripts/stack/stack.sh down

.PHONY: clean
clean: stop ## stop, then delete the local data and binaries
	@scripts/stack/stack.sh clean
	rm -rf bin .run

.PHONY: test
test: ## everything CI runs: lint, unit, integration (real Postgres + Kafka) and end-to-end tests
	@scripts/test.sh all

.PHONY: test-unit
test-unit: ## unit tests only (no Postgres or Kafka)
	@scripts/test.sh unit

.PHONY: test-integration
test-integration: ## integration tests against the real Postgres and Kafka
	@scripts/test.sh integration

.PHONY: test-web
test-web: ## the web client's unit tests, and its browser test against the running system
	@scripts/web.sh unit
	@scripts/web.sh e2e

.PHONY: test-e2e
test-e2e: ## end-to-end tests against the running system
	@scripts/test.sh e2e

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 10m)
	@scripts/fuzz.sh $${FUZZTIME:-10m}

.PHONY: chaos
chaos: ## the fault-injection suite at full size against the real system (several minutes)
	@scripts/chaos.sh full

.PHONY: bench
bench: ## the standard workloads at full size; writes docs/performance.md
	@scripts/bench.sh full

.PHONY: images
images: ## build the services' static binaries for the images (pushing needs a registry)
	@scripts/k8s.sh images

.PHONY: k8s-check
k8s-check: ## helm lint/template every chart and validate every object strictly
	@scripts/k8s.sh check

.PHONY: build
build: ## compile every module
	@for m in $(MODULES); do (cd $$m && go build ./...) || exit 1; done

.PHONY: vet
vet: ## go vet and gofmt over every module
	@scripts/test.sh lint

.PHONY: token
token: ## print a local token (SUB=1 USERNAME=dev)
	@go run ./tools/cmd/mint-token -sub $${SUB:-1} -username $${USERNAME:-dev}

.PHONY: proto
proto: ## regenerate the Go code in pkg/pb from proto/
	@scripts/deps.sh
	@GOBIN=$(TOOLS_BIN) go install $(PROTOC_GEN_GO)
	@GOBIN=$(TOOLS_BIN) go install $(PROTOC_GEN_GO_GRPC)
	PATH=$(TOOLS_BIN):$$PATH protoc -I proto \
		--go_out=pkg --go_opt=module=$(GO_PKG) \
		--go-grpc_out=pkg --go-grpc_opt=module=$(GO_PKG) \
		proto/campaign/v1/*.proto
