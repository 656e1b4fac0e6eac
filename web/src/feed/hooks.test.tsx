// @vitest-environment jsdom
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { useCampaignFeed } from "./useCampaignFeed";
import { useWebSocket } from "./useWebSocket";
import { contribution, cursor, TestServer, view } from "./testserver";
import type { CampaignEventMessage } from "./types";

// The hooks against a real WebSocket server; the sockets are the `ws`
// package's, which jsdom itself uses under its WebSocket.

let server: TestServer;

beforeEach(async () => {
  server = await TestServer.start();
  server.onConnect = (c) => server.send(c, { type: "campaign_data", data: view({ raised_amount: "99.95", contribution_count: 3 }), cursor: cursor(1) });
});

afterEach(async () => {
  cleanup();
  await server.close();
});

const fast = () => ({ url: server.url, createSocket: server.factory, initialDelayMs: 10, maxDelayMs: 50, busyDelayMs: 10 });

describe("useCampaignFeed", () => {
  it("keeps the campaign current and reports each new event once", async () => {
    const events: CampaignEventMessage[] = [];
    const { result } = renderHook(() => useCampaignFeed(42, { ...fast(), onEvent: (m) => events.push(m) }));
    expect(result.current.connection.status).toBe("connecting");
    await waitFor(() => expect(result.current.campaign).not.toBeNull());
    expect(result.current.connection.status).toBe("open");

    {
      const k = contribution(2, "0.05");
      server.send(server.last, k);
      server.send(server.last, k); // a duplicate
      await waitFor(() => expect(result.current.campaign?.contribution_count).toBe(4));
    }
    expect(result.current.campaign?.raised_amount).toBe("100.00");
    expect(events).toHaveLength(1);

    {
      server.last.socket.close(1013, "slow");
      await server.waitFor(() => server.conns.length === 2, "the reconnect");
    }
    await waitFor(() => expect(result.current.connection.status).toBe("open"));
    expect(server.last.url.searchParams.get("since")).toBe(cursor(2));
  });

  it("surfaces a 4404 and stays closed", async () => {
    server.onConnect = (c) => c.socket.close(4404, "no such campaign");
    const { result } = renderHook(() => useCampaignFeed(42, fast()));
    await waitFor(() => expect(result.current.connection.status).toBe("closed"));
    expect(result.current.connection.fatal?.code).toBe(4404);
    expect(result.current.campaign).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.conns).toHaveLength(1);
  });
});

describe("useWebSocket (the seed's shape)", () => {
  it("connects, sends, receives, and reconnects on request", async () => {
    const { result } = renderHook(() => useWebSocket(server.url, { createSocket: server.factory, initialDelayMs: 10 }));
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    expect(result.current.lastMessage?.type).toBe("campaign_data");
    expect(result.current.error).toBeNull();

    {
      act(() => {
        expect(result.current.sendMessage({ type: "ping" })).toBe(true);
      });
      await waitFor(() => expect(result.current.lastMessage?.type).toBe("pong"));
    }

    {
      act(() => result.current.reconnect());
      await server.waitFor(() => server.conns.length === 2, "the reconnect");
      await waitFor(() => expect(result.current.isConnected).toBe(true));
    }
    expect(server.last.url.searchParams.get("since")).toBe(cursor(1));
  });

  it("reports a refusal as an error and does not claim to be connected", async () => {
    server.onConnect = (c) => c.socket.close(4403, "private");
    const { result } = renderHook(() => useWebSocket(server.url, { createSocket: server.factory }));
    await waitFor(() => expect(result.current.error).not.toBeNull());
    expect(result.current.isConnected).toBe(false);
    expect(result.current.error).toMatch(/private/i);
  });
});
