import { defineConfig } from "vitest/config";

// End-to-end tests drive Debian's Chromium against the running stack on
// http://127.0.0.1:8080; they restart the gateway, so they run one at a time.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 180000,
    hookTimeout: 60000,
    fileParallelism: false,
  },
});
