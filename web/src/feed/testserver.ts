// A real WebSocket server for the feed's tests: it accepts sockets on a
// loopback port, records the URL each one asked for, answers pings like the
// gateway (unless told to stay silent), and lets a test push frames and close
// sockets with any code. Only tests import it.

import { WebSocket, WebSocketServer } from "ws";
import type { AddressInfo } from "node:net";

import type { SocketFactory, SocketLike } from "./client";
import type { CampaignView, ServerMessage } from "./types";

export interface Conn {
  url: URL;
  socket: WebSocket;
  received: unknown[];
  at: number;
}

export class TestServer {
  readonly conns: Conn[] = [];
  answerPings = true;
  /** Runs on every new connection, e.g. to send the snapshot. */
  onConnect: (c: Conn) => void = () => {};
  private readonly wss: WebSocketServer;
  private waiters: Array<() => void> = [];

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on("connection", (socket, req) => {
      const c: Conn = { url: new URL(req.url ?? "/", "ws://127.0.0.1"), socket, received: [], at: Date.now() };
      this.conns.push(c);
      socket.on("message", (raw) => {
        let m: unknown;
        try {
          m = JSON.parse(String(raw));
        } catch {
          m = String(raw);
        }
        c.received.push(m);
        if (this.answerPings && (m as { type?: string })?.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
        this.wake();
      });
      this.onConnect(c);
      this.wake();
    });
  }

  static async start(): Promise<TestServer> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    return new TestServer(wss);
  }

  get url(): string {
    const { port } = this.wss.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/ws/campaign/42/`;
  }

  /** factory makes client sockets with the `ws` package, which has the browser's API. */
  readonly factory: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike;

  get last(): Conn {
    const c = this.conns[this.conns.length - 1];
    if (!c) throw new Error("no connection yet");
    return c;
  }

  send(c: Conn, msg: ServerMessage | Record<string, unknown>): void {
    c.socket.send(JSON.stringify(msg));
  }

  /** waitFor resolves once cond holds, re-checked whenever the server sees something. */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 10);
      });
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** until polls cond every few milliseconds (for conditions on the client side). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** cursor makes a cursor in the server's format (epoch 8, partition 4, offset 16 hex digits). */
export function cursor(offset: number, epoch = 1, partition = 3): string {
  return epoch.toString(16).padStart(8, "0") + partition.toString(16).padStart(4, "0") + offset.toString(16).padStart(16, "0");
}

export function view(patch: Partial<CampaignView> = {}): CampaignView {
  return {
    id: 42,
    title: "Solar kiln",
    description: "A kiln for the village",
    goal_amount: "1000.00",
    raised_amount: "0.00",
    currency: "USD",
    contribution_count: 0,
    owner: { id: 1, username: "ada" },
    private: false,
    created_at: "2026-11-25T12:00:00.000000Z",
    updates: [],
    releases: [],
    milestones: [],
    comments: [],
    contributions: [],
    ...patch,
  };
}

let nextID = 1;

export function contribution(offset: number, amount: string, user = "bob") {
  const id = nextID++;
  return {
    type: "contribution" as const,
    cursor: cursor(offset),
    event_id: `evt-${id}`,
    data: { id, campaign: 42, user: { id: 2, username: user }, amount, currency: "USD", created_at: "2026-11-25T12:30:45.123456Z" },
  };
}
