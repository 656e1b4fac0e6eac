/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app is served by devedge on http://localhost:8080 from web/dist, so the
// base is the origin's root and client routes such as /campaigns/42 get
// index.html from devedge. `npm run dev` proxies the API and the sockets to
// that same devedge, so the dev server sees one origin too.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: true, target: "es2022" },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/ws": {
        target: "ws://127.0.0.1:8080",
        ws: true,
        // The gateway checks Origin against its allowlist; the dev server
        // speaks for the origin it stands in for.
        configure: (proxy) => proxy.on("proxyReqWs", (req) => req.setHeader("origin", "http://127.0.0.1:8080")),
      },
    },
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
    testTimeout: 15000,
  },
});
