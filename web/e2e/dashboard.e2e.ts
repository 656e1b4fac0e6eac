// End-to-end: the dashboard in Debian's Chromium against the running system
// (make run) on http://127.0.0.1:8080. A campaign is created through the
// REST API; contributions posted through the API must move the total, the
// bar and a toast live; with the gateway stopped the page must say that
// real-time updates are unavailable, and a contribution posted meanwhile must
// appear after the gateway restarts, without a reload.
//
// playwright-core drives /usr/bin/chromium; no browser is downloaded.

import { execFileSync } from "node:child_process";
import { createHmac, randomInt } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BASE = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080";
const SECRET = process.env.AUTH_JWT_SECRET ?? "local-dev-secret";
const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = process.env.REPO_ROOT ?? resolve(WEB, "..");
const RESULTS = join(WEB, "test-results");

/** mintToken signs an HS256 JWT as bin/mint-token does: sub, username, exp. */
function mintToken(sub: number, username: string): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT" });
  const body = b64({ sub: String(sub), username, iat: now, exp: now + 3600 });
  const sig = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

async function post<T>(path: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(BASE + path, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** run calls scripts/run.sh from the repository root (stop/restart one service). */
function run(...args: string[]): void {
  execFileSync("bash", ["scripts/run.sh", ...args], { cwd: REPO, stdio: ["ignore", "inherit", "inherit"], timeout: 120_000 });
}

const text = (page: Page, testId: string) => page.getByTestId(testId).innerText();

describe("campaign dashboard", () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const owner = { id: 700_000 + randomInt(200_000), name: "ada" };
  const backer = { id: owner.id + 1, name: "grace" };
  const ownerToken = mintToken(owner.id, owner.name);
  const backerToken = mintToken(backer.id, backer.name);
  let campaignId = 0;
  let gatewayStopped = false;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    const c = await post<{ id: number }>("/api/campaigns", ownerToken, {
      title: "Solar kiln for the village pottery",
      description:
        "A wood-and-sun kiln that fires the village's pots without burning the hillside. Every contribution buys bricks, glass and a season of firings.",
      goal_amount: "1000.00",
      currency: "USD",
    });
    campaignId = c.id;
    // Some history, so the dashboard shows each of its feeds.
    await post(`/api/campaigns/${campaignId}/milestones`, ownerToken, { title: "First firing", target_amount: "30.00" });
    await post(`/api/campaigns/${campaignId}/milestones`, ownerToken, { title: "Glass roof", target_amount: "500.00" });
    await post(`/api/campaigns/${campaignId}/milestones`, ownerToken, { title: "A season of firings", target_amount: "1000.00" });
    await post(`/api/campaigns/${campaignId}/updates`, ownerToken, {
      title: "The bricks are here",
      content: "Two pallets of firebrick arrived this morning. We start laying the floor on Saturday; bring gloves.",
    });
    await post(`/api/campaigns/${campaignId}/releases`, ownerToken, { title: "Kiln plans", version: "v0.1", notes: "Drawings and the bill of materials, free to copy." });
    await post(`/api/campaigns/${campaignId}/comments`, backerToken, { content: "Our school would love to visit for a firing!" });

    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, colorScheme: "light", locale: "en-US" });
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
  });

  afterAll(async () => {
    // Never leave the shared stack without its gateway.
    if (gatewayStopped) run("restart", "gateway");
    await browser?.close();
  });

  it("moves live, and catches up after a gateway restart without a reload", async () => {
    await page.goto(`${BASE}/campaigns/${campaignId}?token=${ownerToken}`);
    await expect.poll(() => text(page, "campaign-title")).toBe("Solar kiln for the village pottery");
    await expect.poll(() => page.getByTestId("live-badge").getAttribute("data-status")).toBe("open");
    // The token moved from the address bar into storage.
    expect(new URL(page.url()).searchParams.has("token")).toBe(false);
    expect(await text(page, "raised-amount")).toBe("$0.00");
    await expect.poll(() => page.getByTestId("comments").innerText()).toContain("Our school would love to visit");

    // A reload would lose this marker: it proves the catch-up is live.
    await page.evaluate(() => ((window as unknown as { __e2e: string }).__e2e = "same page"));

    // 1. A contribution through the API moves the total, the bar and a toast.
    await post(`/api/campaigns/${campaignId}/contributions`, backerToken, { amount: "25.50", currency: "USD" });
    await expect.poll(() => text(page, "raised-amount")).toBe("$25.50");
    expect(await text(page, "contribution-count")).toBe("1");
    expect(await page.getByTestId("progress-bar").getAttribute("aria-valuenow")).toBe("2");
    await expect.poll(() => page.getByRole("status").filter({ hasText: "grace contributed $25.50" }).count()).toBe(1);

    // 2. The gateway goes away: the banner says so.
    run("stop", "gateway");
    gatewayStopped = true;
    await expect.poll(() => page.getByTestId("realtime-banner").isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.getByTestId("realtime-banner").innerText()).toMatch(/real-time updates are unavailable/i);
    expect(await page.getByTestId("live-badge").getAttribute("data-status")).not.toBe("open");
    await page.screenshot({ path: join(RESULTS, "dashboard-offline.png") });

    // 3. A contribution while it is down, which crosses the first milestone.
    await post(`/api/campaigns/${campaignId}/contributions`, backerToken, { amount: "10.00", currency: "USD" });
    await page.waitForTimeout(1000);
    expect(await text(page, "raised-amount")).toBe("$25.50");

    // 4. The gateway is back: the missed contribution appears, no reload.
    run("restart", "gateway");
    gatewayStopped = false;
    await expect.poll(() => text(page, "raised-amount"), { timeout: 45_000 }).toBe("$35.50");
    await expect.poll(() => page.getByTestId("realtime-banner").count(), { timeout: 10_000 }).toBe(0);
    expect(await text(page, "contribution-count")).toBe("2");
    expect(await page.getByTestId("progress-bar").getAttribute("aria-valuenow")).toBe("3");
    await expect.poll(() => page.locator('[data-testid="milestones"] li[data-status="reached"]').innerText()).toContain("First firing");
    expect(await page.evaluate(() => (window as unknown as { __e2e?: string }).__e2e)).toBe("same page");
    // Told, too: a toast for the missed contribution itself (exact resume) or
    // for what the fresh snapshot brought (today's gateway).
    await expect
      .poll(() => page.getByRole("status").filter({ hasText: /grace contributed \$10\.00|1 contribution while you were away/ }).count())
      .toBe(1);

    // 5. Live again after the restart.
    await post(`/api/campaigns/${campaignId}/contributions`, backerToken, { amount: "64.50", currency: "USD" });
    await expect.poll(() => text(page, "raised-amount")).toBe("$100.00");
    await expect.poll(() => page.getByRole("status").filter({ hasText: "grace contributed $64.50" }).count()).toBe(1);
    expect(await page.getByTestId("progress-bar").getAttribute("aria-valuenow")).toBe("10");

    await page.waitForTimeout(700); // let the bar's transition finish
    await page.screenshot({ path: join(RESULTS, "dashboard.png"), fullPage: true });

    // The same page on a phone: one column, nothing cut off sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(RESULTS, "dashboard-mobile.png"), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 1000 });
    expect(pageErrors).toEqual([]);
  });

  it("lists the campaign on the start page", async () => {
    await page.goto(`${BASE}/`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).innerText()).toBe("Campaigns, live");
    const link = page.getByRole("link", { name: /Solar kiln for the village pottery/ }).first();
    await expect.poll(() => link.isVisible()).toBe(true);
    await expect.poll(() => page.getByRole("button", { name: "Create a demo campaign" }).isVisible()).toBe(true);
    await page.screenshot({ path: join(RESULTS, "home.png") });
    // Client-side navigation, keyboard only.
    await link.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/campaigns\/\d+$/);
    await expect.poll(() => page.getByTestId("campaign-title").isVisible()).toBe(true);
  });

  it("says so when a campaign does not exist", async () => {
    await page.goto(`${BASE}/campaigns/999999999999`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).innerText(), { timeout: 20_000 }).toBe("Campaign not found");
    await expect.poll(() => page.getByRole("alert").innerText()).toContain("There is no such campaign");
  });
});
