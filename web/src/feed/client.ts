// FeedClient keeps one campaign's WebSocket alive: it connects, resumes from
// the last cursor after a drop, drops duplicate events, sends heartbeats, and
// pauses while nobody can see the page or the browser is offline.
//
// It is plain TypeScript with no React in it, so the hooks are thin and the
// logic is tested against a real WebSocket server.
//
// Life of a connection:
//
//   connecting ──open──▶ open ──close (retryable)──▶ reconnecting ──timer──▶ connecting
//        │                 │                              ▲
//        │                 └─close 4401/4403/4404──▶ closed (until reconnect())
//        └─never opens in connectTimeoutMs: closed by us, then reconnecting
//   any state ──tab hidden (after a grace) / browser offline──▶ offline ──visible and online──▶ connecting
//
// Retries wait a "full jitter" delay: a uniform random time in
// [0, min(maxDelayMs, initialDelayMs · 2^attempt)], so that thousands of
// browsers dropped together by a gateway drain (1012) do not come back in
// step. The attempt count resets once a connection has stayed up for
// stableAfterMs, so a server that accepts and closes at once still backs off.

import { isNewer } from "./reducer";
import { parseServerMessage, type ClientMessage, type Cursor, type ServerMessage } from "./types";

/** Where the feed is in its life. */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "offline" | "closed";

/** Why the feed is offline. */
export type PauseReason = "hidden" | "offline";

/** Close codes after which a retry cannot succeed: the user must act first. */
export const FATAL_CLOSE_CODES: ReadonlyMap<number, string> = new Map([
  [4401, "Your sign-in is invalid or has expired."],
  [4403, "This campaign is private."],
  [4404, "There is no such campaign."],
]);

/** Close codes that mean "busy": retries start from a wider window. */
const BUSY_CLOSE_CODES = new Set([1012, 1013]);

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectionSnapshot {
  status: ConnectionStatus;
  /** Consecutive failed attempts since the last stable connection. */
  attempt: number;
  /** When the next retry starts (ms since the epoch), while reconnecting. */
  nextRetryAt: number | null;
  /** Why the feed is paused, while offline. */
  paused: PauseReason | null;
  /** The last close the server (or the network) caused. */
  lastClose: CloseInfo | null;
  /** Set when the server closed with a code that forbids retrying. */
  fatal: (CloseInfo & { message: string }) | null;
  /** The cursor the next connection resumes from. */
  cursor: Cursor | null;
}

/** The part of the browser WebSocket API the client uses (the `ws` package has it too). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

/** The browser surroundings the client watches; tests leave them out. */
export interface FeedEnvironment {
  document?: Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">;
  window?: Pick<Window, "addEventListener" | "removeEventListener">;
  navigator?: Pick<Navigator, "onLine">;
}

export interface FeedClientOptions {
  /** The socket URL without the resume query; defaults to same-origin /ws/campaign/{id}/. */
  url?: string;
  /** A JWT, sent as the access_token query parameter (anonymous without it). */
  token?: string | null;
  /** Creates sockets; defaults to the global WebSocket. */
  createSocket?: SocketFactory;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** The smallest backoff window after a 1012 (drain) or 1013 (try again later). */
  busyDelayMs?: number;
  /** A connection that stays up this long resets the backoff. */
  stableAfterMs?: number;
  connectTimeoutMs?: number;
  /** How often to ping an idle connection; 0 turns heartbeats off. */
  heartbeatIntervalMs?: number;
  /** How long to wait for any frame after a ping before giving the socket up. */
  heartbeatTimeoutMs?: number;
  /** Close the socket once the tab has been hidden this long; null never pauses. */
  hiddenGraceMs?: number | null;
  /** A number in [0, 1); tests make jitter predictable with it. */
  random?: () => number;
  env?: FeedEnvironment;
  onMessage?: (msg: ServerMessage) => void;
  onStatus?: (snap: ConnectionSnapshot) => void;
}

const OPEN = 1;

/** campaignSocketURL is the same-origin socket URL of a campaign. */
export function campaignSocketURL(campaignId: string | number, loc: Pick<Location, "protocol" | "host"> = location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws/campaign/${encodeURIComponent(String(campaignId))}/`;
}

/** backoffDelay is the full-jitter delay before retry number attempt (0-based). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const window = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * window);
}

export class FeedClient {
  private readonly opts: Required<
    Pick<
      FeedClientOptions,
      | "initialDelayMs"
      | "maxDelayMs"
      | "busyDelayMs"
      | "stableAfterMs"
      | "connectTimeoutMs"
      | "heartbeatIntervalMs"
      | "heartbeatTimeoutMs"
      | "random"
    >
  > &
    FeedClientOptions;
  private readonly url: string;
  private socket: SocketLike | null = null;
  private openedAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private hiddenTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private snap: ConnectionSnapshot = {
    status: "connecting",
    attempt: 0,
    nextRetryAt: null,
    paused: null,
    lastClose: null,
    fatal: null,
    cursor: null,
  };

  constructor(campaignId: string | number, options: FeedClientOptions = {}) {
    this.opts = {
      initialDelayMs: 500,
      maxDelayMs: 30_000,
      busyDelayMs: 2_000,
      stableAfterMs: 5_000,
      connectTimeoutMs: 10_000,
      heartbeatIntervalMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      hiddenGraceMs: 30_000,
      random: Math.random,
      ...options,
    };
    this.url = options.url ?? campaignSocketURL(campaignId);
  }

  /** snapshot is the connection's current state. */
  get snapshot(): ConnectionSnapshot {
    return this.snap;
  }

  /** start connects, unless the page is hidden or the browser offline. */
  start(): void {
    const { document: doc, window: win } = this.env();
    doc?.addEventListener("visibilitychange", this.onVisibility);
    win?.addEventListener("online", this.onOnline);
    win?.addEventListener("offline", this.onOffline);
    if (this.isOffline()) this.pause("offline");
    else if (doc?.visibilityState === "hidden" && this.opts.hiddenGraceMs === 0) this.pause("hidden");
    else {
      this.connect();
      if (doc?.visibilityState === "hidden") this.onVisibility();
    }
  }

  /** stop closes the socket for good and forgets every listener. */
  stop(): void {
    this.stopped = true;
    const { document: doc, window: win } = this.env();
    doc?.removeEventListener("visibilitychange", this.onVisibility);
    win?.removeEventListener("online", this.onOnline);
    win?.removeEventListener("offline", this.onOffline);
    this.clearTimers();
    this.dropSocket(1000, "client stopped");
  }

  /** reconnect drops the current socket and connects now, even after a fatal close. */
  reconnect(): void {
    if (this.stopped) return;
    this.clearTimers();
    this.dropSocket(1000, "client reconnects");
    this.update({ attempt: 0, fatal: null, paused: null });
    this.connect();
  }

  /** send writes a message if the socket is open; it reports whether it did. */
  send(msg: ClientMessage | Record<string, unknown>): boolean {
    if (this.socket?.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  // connect opens a socket, resuming after the last cursor if there is one.
  private connect(): void {
    if (this.stopped) return;
    this.clear("retryTimer");
    this.dropSocket(1000, "client reconnects");
    const url = this.resumeURL();
    let ws: SocketLike;
    try {
      ws = (this.opts.createSocket ?? defaultSocket)(url);
    } catch (err) {
      this.update({ status: "reconnecting" });
      this.scheduleRetry({ code: 1006, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.socket = ws;
    this.update({ status: "connecting", nextRetryAt: null, paused: null });
    this.connectTimer = setTimeout(() => {
      if (this.socket !== ws) return;
      this.dropSocket(4000, "connect timeout");
      this.scheduleRetry({ code: 1006, reason: "connect timeout" });
    }, this.opts.connectTimeoutMs);

    ws.onopen = () => {
      if (this.socket !== ws) return;
      this.clear("connectTimer");
      this.openedAt = Date.now();
      this.update({ status: "open", nextRetryAt: null });
      this.armHeartbeat();
    };
    ws.onmessage = (ev) => {
      if (this.socket !== ws || typeof ev.data !== "string") return;
      this.armHeartbeat();
      const msg = parseServerMessage(ev.data);
      if (msg) this.receive(msg);
    };
    ws.onerror = () => {
      // The close event that follows says what happened.
    };
    ws.onclose = (ev) => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.clear("connectTimer");
      this.clearHeartbeat();
      this.closed({ code: ev.code, reason: ev.reason });
    };
  }

  // receive keeps the resume cursor and drops duplicate events before anyone
  // sees them: a campaign_data resets the cursor, an event must be newer.
  private receive(msg: ServerMessage): void {
    switch (msg.type) {
      case "campaign_data":
        this.update({ cursor: msg.cursor });
        break;
      case "resumed":
        if (isNewer(msg.cursor, this.snap.cursor)) this.update({ cursor: msg.cursor });
        break;
      case "contribution":
      case "update":
      case "comment":
      case "release":
      case "milestone":
        if (this.snap.cursor === null || !isNewer(msg.cursor, this.snap.cursor)) return;
        this.update({ cursor: msg.cursor });
        break;
      case "error":
      case "pong":
        break;
    }
    this.opts.onMessage?.(msg);
  }

  private closed(close: CloseInfo): void {
    if (this.stopped) return;
    const fatal = FATAL_CLOSE_CODES.get(close.code);
    if (fatal !== undefined) {
      this.update({ status: "closed", lastClose: close, fatal: { ...close, message: fatal }, nextRetryAt: null });
      return;
    }
    if (this.openedAt > 0 && Date.now() - this.openedAt >= this.opts.stableAfterMs) this.update({ attempt: 0 });
    this.openedAt = 0;
    if (this.isOffline()) {
      this.update({ lastClose: close });
      this.pause("offline");
      return;
    }
    this.scheduleRetry(close);
  }

  private scheduleRetry(close: CloseInfo): void {
    const { initialDelayMs, maxDelayMs, busyDelayMs, random } = this.opts;
    const base = BUSY_CLOSE_CODES.has(close.code) ? Math.max(initialDelayMs, busyDelayMs) : initialDelayMs;
    const delay = backoffDelay(this.snap.attempt, base, maxDelayMs, random);
    this.update({
      status: "reconnecting",
      lastClose: close,
      attempt: this.snap.attempt + 1,
      nextRetryAt: Date.now() + delay,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  // armHeartbeat restarts the idle clock: after heartbeatIntervalMs without a
  // frame it pings, and a socket that then stays silent for
  // heartbeatTimeoutMs is half-open: it is dropped and replaced.
  private armHeartbeat(): void {
    this.clearHeartbeat();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.opts;
    if (heartbeatIntervalMs <= 0) return;
    this.pingTimer = setTimeout(() => {
      if (!this.send({ type: "ping" })) return;
      this.pongTimer = setTimeout(() => {
        const ws = this.socket;
        if (!ws) return;
        this.dropSocket(4000, "heartbeat timeout");
        this.closed({ code: 1006, reason: "heartbeat timeout" });
      }, heartbeatTimeoutMs);
    }, heartbeatIntervalMs);
  }

  private pause(reason: PauseReason): void {
    this.clearTimers();
    this.dropSocket(1000, reason === "hidden" ? "page hidden" : "browser offline");
    this.update({ status: "offline", paused: reason, nextRetryAt: null });
  }

  private resume(): void {
    if (this.stopped || this.snap.status !== "offline") return;
    if (this.isOffline() || this.env().document?.visibilityState === "hidden") return;
    this.update({ attempt: 0 });
    this.connect();
  }

  private onVisibility = (): void => {
    const doc = this.env().document;
    if (!doc) return;
    const grace = this.opts.hiddenGraceMs;
    if (doc.visibilityState === "hidden") {
      if (grace === null || grace === undefined || this.snap.status === "closed") return;
      this.clear("hiddenTimer");
      this.hiddenTimer = setTimeout(() => this.pause("hidden"), grace);
    } else {
      this.clear("hiddenTimer");
      this.resume();
    }
  };

  private onOnline = (): void => this.resume();

  private onOffline = (): void => {
    if (this.snap.status !== "closed") this.pause("offline");
  };

  private isOffline(): boolean {
    return this.env().navigator?.onLine === false;
  }

  private env(): FeedEnvironment {
    if (this.opts.env) return this.opts.env;
    return {
      document: typeof document === "undefined" ? undefined : document,
      window: typeof window === "undefined" ? undefined : window,
      navigator: typeof navigator === "undefined" ? undefined : navigator,
    };
  }

  private resumeURL(): string {
    const params: string[] = [];
    if (this.snap.cursor) params.push(`since=${encodeURIComponent(this.snap.cursor)}`);
    if (this.opts.token) params.push(`access_token=${encodeURIComponent(this.opts.token)}`);
    if (params.length === 0) return this.url;
    return this.url + (this.url.includes("?") ? "&" : "?") + params.join("&");
  }

  // dropSocket closes the current socket and detaches it, so its late events
  // change nothing.
  private dropSocket(code: number, reason: string): void {
    const ws = this.socket;
    this.socket = null;
    this.clearHeartbeat();
    this.clear("connectTimer");
    if (!ws) return;
    // No-op handlers rather than null: closing a socket that is still
    // connecting reports an error event, which must not go unheard.
    ws.onopen = ws.onmessage = null;
    ws.onerror = ws.onclose = () => {};
    try {
      ws.close(code, reason);
    } catch {
      // Closing a socket that never connected can throw in some browsers.
    }
  }

  private clearHeartbeat(): void {
    this.clear("pingTimer");
    this.clear("pongTimer");
  }

  private clearTimers(): void {
    this.clear("retryTimer");
    this.clear("connectTimer");
    this.clear("hiddenTimer");
    this.clearHeartbeat();
  }

  private clear(name: "retryTimer" | "connectTimer" | "pingTimer" | "pongTimer" | "hiddenTimer"): void {
    const t = this[name];
    if (t !== null) clearTimeout(t);
    this[name] = null;
  }

  private update(patch: Partial<ConnectionSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    this.opts.onStatus?.(this.snap);
  }
}

function defaultSocket(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike;
}
