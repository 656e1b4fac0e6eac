# syntax=docker/dockerfile:1
# The web client: web/ built by Vite, served by nginx as a non-root user
# (uid 101) on :8080, with /healthz for the probes and index.html for the
# client's own routes. Build context: the repository root.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.29-alpine
COPY deploy/docker/web-nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /web/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
