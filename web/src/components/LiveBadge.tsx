import type { ConnectionStatus } from "../feed";

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting",
  open: "Live",
  reconnecting: "Reconnecting",
  offline: "Paused",
  closed: "Disconnected",
};

/** LiveBadge is the connection's state as a small pill. */
export function LiveBadge({ status }: { status: ConnectionStatus }) {
  return (
    <span className={`live-badge live-${status}`} data-testid="live-badge" data-status={status}>
      <span className="live-dot" aria-hidden="true" />
      <span>
        <span className="visually-hidden">Connection: </span>
        {LABELS[status]}
      </span>
    </span>
  );
}
