import { useEffect, useState } from "react";

import type { ConnectionSnapshot } from "../feed";

/**
 * ConnectionBanner says when real-time updates are unavailable, why, and
 * what happens next; it offers to retry at once. While the feed is live it
 * renders nothing.
 */
export function ConnectionBanner(props: { connection: ConnectionSnapshot; onRetry: () => void; onSignOut?: () => void }) {
  const { connection, onRetry, onSignOut } = props;
  const now = useNow(connection.status === "reconnecting" ? 1000 : null);
  const { status, fatal, paused, nextRetryAt, attempt } = connection;
  if (status === "open" || (status === "connecting" && attempt === 0)) return null;

  let message: string;
  let action = "Retry now";
  if (fatal) {
    message = fatal.message;
    action = "Try again";
  } else if (status === "offline") {
    message =
      paused === "offline"
        ? "You are offline. Real-time updates resume when your connection is back."
        : "Real-time updates are paused while this tab is in the background.";
  } else {
    const secs = nextRetryAt ? Math.max(0, Math.ceil((nextRetryAt - now) / 1000)) : 0;
    message =
      status === "connecting" || secs === 0
        ? "Real-time updates are unavailable. Reconnecting…"
        : `Real-time updates are unavailable. Reconnecting in ${secs} s…`;
  }

  return (
    <div className={`banner ${fatal ? "banner-error" : "banner-warning"}`} role={fatal ? "alert" : "status"} data-testid="realtime-banner">
      <span className="banner-icon" aria-hidden="true" />
      <p>
        {message}
        {!fatal && <span className="banner-note"> What you see may be out of date; nothing will be missed.</span>}
      </p>
      {fatal?.code === 4401 && onSignOut ? (
        // Retrying with the same token cannot help; watching anonymously can.
        <button type="button" className="btn btn-small" onClick={onSignOut}>
          Watch without signing in
        </button>
      ) : (
        status !== "offline" && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            {action}
          </button>
        )
      )}
    </div>
  );
}

function useNow(everyMs: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (everyMs === null) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
