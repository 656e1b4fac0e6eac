# syntax=docker/dockerfile:1
# The comment image. Build context: the repository root, so that go.work and
# pkg/ are visible (skaffold.yaml; docs/deploy.md). A static binary on
# distroless/static:nonroot: no shell, no package manager, uid 65532, and
# nothing fetched when the container starts.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w -buildid=' -o /out/comment ./services/comment

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/comment /comment
USER nonroot:nonroot
EXPOSE 8105 9105
ENTRYPOINT ["/comment"]
