import { useCallback, useEffect, useRef, useState } from "react";

import { FeedClient, type ConnectionSnapshot, type FeedClientOptions } from "./client";
import { feedReducer, initialFeedState, type FeedState } from "./reducer";
import type { CampaignEventMessage, ServerMessage } from "./types";

export interface CampaignFeedOptions
  extends Omit<FeedClientOptions, "onMessage" | "onStatus"> {
  /** Called once for each new event (never for a duplicate or a campaign_data): for toasts. */
  onEvent?: (msg: CampaignEventMessage) => void;
  /**
   * Called for every message that is not dropped as a duplicate, with the
   * state before and after it was applied.
   */
  onMessage?: (msg: ServerMessage, before: FeedState, after: FeedState) => void;
  /** false keeps the feed disconnected (e.g. until a token is known). */
  enabled?: boolean;
}

export interface CampaignFeed extends FeedState {
  connection: ConnectionSnapshot;
  /** The last message that was not a duplicate. */
  lastMessage: ServerMessage | null;
  /** The last `error` message the server sent. */
  serverError: { code: string; message: string } | null;
  send: FeedClient["send"];
  reconnect: () => void;
}

const idleSnapshot: ConnectionSnapshot = {
  status: "connecting",
  attempt: 0,
  nextRetryAt: null,
  paused: null,
  lastClose: null,
  fatal: null,
  cursor: null,
};

/**
 * useCampaignFeed watches one campaign live: it returns the campaign view
 * kept current by every event, and the state of the connection. A new
 * campaignId, url or token starts a new connection; the other options are
 * read when the connection starts.
 */
export function useCampaignFeed(campaignId: string | number, options: CampaignFeedOptions = {}): CampaignFeed {
  // The state lives in a ref as well, so each message is applied to the
  // exact state before it (and callbacks see both) even when React batches
  // several messages into one render.
  const stateRef = useRef<FeedState>(initialFeedState);
  const [state, setState] = useState<FeedState>(initialFeedState);
  const [connection, setConnection] = useState<ConnectionSnapshot>(idleSnapshot);
  const [lastMessage, setLastMessage] = useState<ServerMessage | null>(null);
  const [serverError, setServerError] = useState<CampaignFeed["serverError"]>(null);
  const clientRef = useRef<FeedClient | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  const { url, token, enabled = true } = options;
  useEffect(() => {
    if (!enabled) return;
    stateRef.current = initialFeedState; // a new campaign starts from nothing
    setState(initialFeedState);
    const client = new FeedClient(campaignId, {
      ...optionsRef.current,
      url,
      token,
      onStatus: (snap) => setConnection(snap),
      onMessage: (msg) => {
        const before = stateRef.current;
        const after = feedReducer(before, msg);
        stateRef.current = after;
        if (after !== before) setState(after);
        setLastMessage(msg);
        if (msg.type === "error") setServerError({ code: msg.code, message: msg.message });
        optionsRef.current.onMessage?.(msg, before, after);
        if (msg.type !== "campaign_data" && msg.type !== "resumed" && msg.type !== "error" && msg.type !== "pong") {
          optionsRef.current.onEvent?.(msg);
        }
      },
    });
    clientRef.current = client;
    client.start();
    return () => {
      client.stop();
      if (clientRef.current === client) clientRef.current = null;
    };
  }, [campaignId, url, token, enabled]);

  const send = useCallback<FeedClient["send"]>((msg) => clientRef.current?.send(msg) ?? false, []);
  const reconnect = useCallback(() => clientRef.current?.reconnect(), []);

  return { ...state, connection, lastMessage, serverError, send, reconnect };
}
