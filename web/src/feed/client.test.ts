import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { backoffDelay, FeedClient, type ConnectionSnapshot, type FeedClientOptions, type FeedEnvironment } from "./client";
import { feedReducer, initialFeedState, type FeedState } from "./reducer";
import { contribution, cursor, TestServer, until, view } from "./testserver";
import type { ServerMessage } from "./types";

// Each test runs a FeedClient against a real WebSocket server on loopback,
// with delays shrunk to milliseconds so reconnects happen within the test.

let server: TestServer;
let client: FeedClient | null;

beforeEach(async () => {
  server = await TestServer.start();
  client = null;
});

afterEach(async () => {
  client?.stop();
  await server.close();
});

interface Harness {
  client: FeedClient;
  messages: ServerMessage[];
  statuses: ConnectionSnapshot[];
  state: () => FeedState;
}

function startClient(opts: FeedClientOptions = {}): Harness {
  const messages: ServerMessage[] = [];
  const statuses: ConnectionSnapshot[] = [];
  let state = initialFeedState;
  client = new FeedClient(42, {
    url: server.url,
    createSocket: server.factory,
    initialDelayMs: 20,
    maxDelayMs: 200,
    busyDelayMs: 20,
    heartbeatIntervalMs: 0,
    random: () => 0.5,
    ...opts,
    onMessage: (m) => {
      messages.push(m);
      state = feedReducer(state, m);
    },
    onStatus: (s) => statuses.push(s),
  });
  client.start();
  return { client, messages, statuses, state: () => state };
}

function snapshotOnConnect(offset: number, patch = {}) {
  server.onConnect = (c) => server.send(c, { type: "campaign_data", data: view(patch), cursor: cursor(offset) });
}

describe("FeedClient", () => {
  it("applies campaign_data, then live contributions to the total in exact cents", async () => {
    snapshotOnConnect(5, { raised_amount: "0.10", contribution_count: 1 });
    const h = startClient();
    await until(() => h.state().campaign !== null, "the snapshot");
    expect(h.client.snapshot.status).toBe("open");
    server.send(server.last, contribution(6, "0.20"));
    server.send(server.last, contribution(7, "25.50"));
    await until(() => h.state().campaign?.contribution_count === 3, "two contributions");
    expect(h.state().campaign?.raised_amount).toBe("25.80");
    expect(h.state().cursor).toBe(cursor(7));
  });

  it("drops events at or before the last cursor, and a mid-stream campaign_data resets it", async () => {
    snapshotOnConnect(10);
    const h = startClient();
    await until(() => h.state().campaign !== null, "the snapshot");
    const c = server.last;
    server.send(c, contribution(9, "1.00")); // older than the snapshot
    server.send(c, contribution(10, "1.00")); // the snapshot's own position
    server.send(c, contribution(11, "2.00"));
    server.send(c, contribution(11, "2.00")); // a duplicate
    server.send(c, contribution(12, "3.00"));
    await until(() => h.state().cursor === cursor(12), "cursor 12");
    expect(h.state().campaign?.raised_amount).toBe("5.00");
    expect(h.messages.filter((m) => m.type === "contribution")).toHaveLength(2);

    // A resync after a fanout restart: the view is replaced, even at a lower cursor.
    server.send(c, { type: "campaign_data", data: view({ raised_amount: "100.00", contribution_count: 9 }), cursor: cursor(3) });
    server.send(c, contribution(4, "1.00"));
    await until(() => h.state().cursor === cursor(4), "the event after the resync");
    expect(h.state().campaign?.raised_amount).toBe("101.00");
    expect(h.state().campaign?.contribution_count).toBe(10);
  });

  it("reconnects after 1012 with since= the last cursor and accepts a fresh campaign_data", async () => {
    snapshotOnConnect(20);
    const h = startClient();
    await until(() => h.state().campaign !== null, "the snapshot");
    server.send(server.last, contribution(21, "5.00"));
    await until(() => h.state().cursor === cursor(21), "event 21");
    expect(server.conns[0]?.url.searchParams.has("since")).toBe(false);

    // The gateway drains; the server answers the resume with today's fresh snapshot.
    snapshotOnConnect(23, { raised_amount: "12.00", contribution_count: 2 });
    server.last.socket.close(1012, "service restart");
    await server.waitFor(() => server.conns.length === 2, "the reconnect");
    expect(server.last.url.searchParams.get("since")).toBe(cursor(21));
    expect(h.statuses.some((s) => s.status === "reconnecting" && s.lastClose?.code === 1012)).toBe(true);
    await until(() => h.state().cursor === cursor(23), "the fresh snapshot");
    expect(h.state().campaign?.raised_amount).toBe("12.00");
    expect(h.client.snapshot.status).toBe("open");
  });

  it("resumes exactly: replayed events then resumed, with duplicates of what it had dropped", async () => {
    snapshotOnConnect(30);
    const h = startClient();
    await until(() => h.state().campaign !== null, "the snapshot");
    server.send(server.last, contribution(31, "1.00"));
    await until(() => h.state().cursor === cursor(31), "event 31");

    server.onConnect = (c) => {
      // The replay overlaps what the client already has; then the missed ones.
      server.send(c, contribution(31, "1.00"));
      server.send(c, contribution(32, "2.00"));
      server.send(c, contribution(33, "3.00"));
      server.send(c, { type: "resumed", cursor: cursor(33) });
    };
    server.last.socket.terminate(); // 1006, as when a gateway dies
    await until(() => h.messages.some((m) => m.type === "resumed"), "resumed");
    expect(server.last.url.searchParams.get("since")).toBe(cursor(31));
    expect(h.state().campaign?.raised_amount).toBe("6.00");
    expect(h.state().campaign?.contribution_count).toBe(3);
    expect(h.state().cursor).toBe(cursor(33));
  });

  it.each([
    [4401, "sign-in"],
    [4403, "private"],
    [4404, "no such campaign"],
  ])("does not retry after close %i and says why", async (code, words) => {
    server.onConnect = (c) => c.socket.close(code, "refused");
    const h = startClient();
    await until(() => h.client.snapshot.status === "closed", "the closed state");
    await new Promise((r) => setTimeout(r, 300)); // longer than any backoff here
    expect(server.conns).toHaveLength(1);
    expect(h.client.snapshot.fatal?.code).toBe(code);
    expect(h.client.snapshot.fatal?.message.toLowerCase()).toContain(words);

    // The user can still ask again, e.g. after signing in.
    server.onConnect = () => {};
    h.client.reconnect();
    await server.waitFor(() => server.conns.length === 2, "a reconnect on request");
  });

  it("backs off exponentially with full jitter while the server refuses, within the cap", async () => {
    server.onConnect = (c) => c.socket.close(1013, "try again later");
    const h = startClient({ initialDelayMs: 10, maxDelayMs: 80, busyDelayMs: 10, random: () => 0.999 });
    await server.waitFor(() => server.conns.length >= 6, "six attempts", 5000);
    h.client.stop();
    const gaps = server.conns.slice(1).map((c, i) => c.at - server.conns[i]!.at);
    // Windows: 10, 20, 40, 80, 80 ms (random ≈ 1 takes nearly all of each).
    expect(gaps[1]!).toBeGreaterThanOrEqual(gaps[0]! - 5);
    expect(gaps[3]!).toBeGreaterThanOrEqual(60);
    for (const g of gaps) expect(g).toBeLessThan(80 + 60);
    const attempts = h.statuses.filter((s) => s.status === "reconnecting").map((s) => s.attempt);
    expect(attempts.slice(0, 4)).toEqual([1, 2, 3, 4]);
  });

  it("resets the backoff after a connection that stayed up", async () => {
    snapshotOnConnect(1);
    const h = startClient({ stableAfterMs: 50 });
    await until(() => h.client.snapshot.status === "open", "open");
    await new Promise((r) => setTimeout(r, 80));
    server.last.socket.close(1011, "internal");
    await until(() => h.client.snapshot.status === "reconnecting", "reconnecting");
    expect(h.client.snapshot.attempt).toBe(1);
  });

  it("pings when idle, and replaces a socket whose pongs stop", async () => {
    snapshotOnConnect(1);
    const h = startClient({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 60 });
    await server.waitFor(() => (server.conns[0]?.received.filter((m) => (m as { type: string }).type === "ping").length ?? 0) >= 2, "two pings");
    expect(h.messages.some((m) => m.type === "pong")).toBe(true);
    expect(server.conns).toHaveLength(1);

    server.answerPings = false; // a half-open connection: nothing comes back
    await server.waitFor(() => server.conns.length === 2, "a replacement socket", 2000);
    expect(h.statuses.some((s) => s.lastClose?.reason === "heartbeat timeout")).toBe(true);
    expect(server.last.url.searchParams.get("since")).toBe(cursor(1));
  });

  it("pauses while the tab is hidden or the browser offline, and resumes from the cursor", async () => {
    snapshotOnConnect(7);
    const env = fakeEnvironment();
    const h = startClient({ env: env.env, hiddenGraceMs: 0 });
    await until(() => h.state().campaign !== null, "the snapshot");

    env.setHidden(true);
    await until(() => h.client.snapshot.status === "offline", "offline while hidden");
    expect(h.client.snapshot.paused).toBe("hidden");
    await server.waitFor(() => server.conns[0]!.socket.readyState === server.conns[0]!.socket.CLOSED, "the server to see the close");
    await new Promise((r) => setTimeout(r, 100));
    expect(server.conns).toHaveLength(1); // no retries while paused

    env.setHidden(false);
    await server.waitFor(() => server.conns.length === 2, "the reconnect when visible");
    expect(server.last.url.searchParams.get("since")).toBe(cursor(7));

    env.setOnline(false);
    await until(() => h.client.snapshot.paused === "offline", "offline");
    env.setOnline(true);
    await server.waitFor(() => server.conns.length === 3, "the reconnect when online");
  });

  it("sends the token as access_token and keeps it across reconnects", async () => {
    snapshotOnConnect(1);
    startClient({ token: "a.b.c" });
    await server.waitFor(() => server.conns.length === 1, "a connection");
    expect(server.last.url.searchParams.get("access_token")).toBe("a.b.c");
    server.last.socket.close(1012);
    await server.waitFor(() => server.conns.length === 2, "a reconnect");
    expect(server.last.url.searchParams.get("access_token")).toBe("a.b.c");
    expect(server.last.url.searchParams.get("since")).toBe(cursor(1));
  });

  it("ignores frames it does not understand and surfaces error replies", async () => {
    snapshotOnConnect(1);
    const h = startClient();
    await until(() => h.state().campaign !== null, "the snapshot");
    server.last.socket.send("not json");
    server.send(server.last, { type: "something_new", data: {} });
    server.send(server.last, { type: "error", code: "unsupported_type", message: "no" });
    await until(() => h.messages.some((m) => m.type === "error"), "the error reply");
    expect(h.messages.map((m) => m.type)).toEqual(["campaign_data", "error"]);
  });
});

describe("backoffDelay", () => {
  it("is uniform in [0, min(max, initial·2^attempt))", () => {
    expect(backoffDelay(0, 500, 30000, () => 0)).toBe(0);
    expect(backoffDelay(0, 500, 30000, () => 0.5)).toBe(250);
    expect(backoffDelay(3, 500, 30000, () => 0.5)).toBe(2000);
    expect(backoffDelay(10, 500, 30000, () => 0.999)).toBe(29970);
    expect(backoffDelay(1000, 500, 30000, () => 0.5)).toBe(15000);
  });
});

// fakeEnvironment stands in for document visibility and the browser's
// online state, with real event dispatch.
function fakeEnvironment() {
  const doc = new EventTarget() as EventTarget & { visibilityState: DocumentVisibilityState };
  doc.visibilityState = "visible";
  const win = new EventTarget();
  const nav = { onLine: true };
  return {
    env: { document: doc, window: win, navigator: nav } as unknown as FeedEnvironment,
    setHidden(hidden: boolean) {
      doc.visibilityState = hidden ? "hidden" : "visible";
      doc.dispatchEvent(new Event("visibilitychange"));
    },
    setOnline(online: boolean) {
      nav.onLine = online;
      win.dispatchEvent(new Event(online ? "online" : "offline"));
    },
  };
}
