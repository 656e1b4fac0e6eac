# syntax=docker/dockerfile:1
# An image from a binary that `scripts/k8s.sh images` already built into
# bin/images/SERVICE/SERVICE (static, linux): for a builder that should not
# compile Go itself. Context: the repository root.
#   docker build -f deploy/docker/prebuilt.Dockerfile --build-arg SERVICE=content \
#     -t REGISTRY/campaign-live/content:TAG .
FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
COPY bin/images/${SERVICE}/${SERVICE} /service
USER nonroot:nonroot
ENTRYPOINT ["/service"]
