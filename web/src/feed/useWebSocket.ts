import { useCallback, useEffect, useRef, useState } from "react";

import { FeedClient, type FeedClientOptions } from "./client";
import type { ServerMessage } from "./types";

/** The seed hook's return shape, kept so its callers work unchanged. */
export interface UseWebSocketResult {
  isConnected: boolean;
  /** The last message received, parsed (duplicates by cursor are dropped). */
  lastMessage: ServerMessage | null;
  /** Why the socket is not connected, if it is not; null while all is well. */
  error: string | null;
  /** Sends an object as JSON; false if the socket is not open. */
  sendMessage: (message: Record<string, unknown>) => boolean;
  /** Drops the socket and connects again now (the seed's never worked). */
  reconnect: () => void;
}

/**
 * useWebSocket is the seed's hook on top of FeedClient: the same return
 * shape, now with reconnects, resume, heartbeats and close-code handling.
 * Pass a campaign id (same-origin URL) or a full ws(s):// URL.
 */
export function useWebSocket(
  campaignIdOrUrl: string | number,
  options: Omit<FeedClientOptions, "onMessage" | "onStatus"> = {},
): UseWebSocketResult {
  const [isConnected, setConnected] = useState(false);
  const [lastMessage, setLastMessage] = useState<ServerMessage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const clientRef = useRef<FeedClient | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  const target = String(campaignIdOrUrl);
  const isURL = /^wss?:\/\//.test(target);
  const { token } = options;
  useEffect(() => {
    const client = new FeedClient(isURL ? 0 : target, {
      ...optionsRef.current,
      ...(isURL ? { url: target } : {}),
      token,
      onMessage: (msg) => setLastMessage(msg),
      onStatus: (snap) => {
        setConnected(snap.status === "open");
        if (snap.fatal) setError(snap.fatal.message);
        else if (snap.status === "reconnecting" && snap.lastClose) setError(`connection lost (${snap.lastClose.code})`);
        else if (snap.status === "offline") setError(snap.paused === "offline" ? "browser offline" : "paused while hidden");
        else if (snap.status === "open") setError(null);
      },
    });
    clientRef.current = client;
    client.start();
    return () => client.stop();
  }, [target, isURL, token]);

  const sendMessage = useCallback((message: Record<string, unknown>) => clientRef.current?.send(message) ?? false, []);
  const reconnect = useCallback(() => clientRef.current?.reconnect(), []);
  return { isConnected, lastMessage, error, sendMessage, reconnect };
}
