// Wire types of the campaign WebSocket (DESIGN.md §2). Money is a decimal
// string, never a number; times are RFC 3339 UTC strings; ids are integers.
// The shapes mirror pkg/event (json.go) and services/fanout/internal/view
// (render.go), which pin them on the server side.

/** A cursor is opaque, but within one campaign a later one is greater as a plain string. */
export type Cursor = string;

/** A decimal string with up to two decimals, e.g. "100.00". */
export type Money = string;

/** An RFC 3339 UTC timestamp, e.g. "2026-11-25T12:30:45.123456Z". */
export type Timestamp = string;

export interface User {
  id: number;
  username: string;
}

export interface Contribution {
  id: number;
  campaign: number;
  user: User;
  amount: Money;
  currency: string;
  created_at: Timestamp;
}

export interface Update {
  id: number;
  campaign: number;
  title: string;
  content: string;
  image: string | null;
  created_at: Timestamp;
}

export interface Comment {
  id: number;
  campaign: number;
  user: User;
  content: string;
  created_at: Timestamp;
}

export interface Release {
  id: number;
  campaign: number;
  title: string;
  version: string;
  notes: string;
  created_at: Timestamp;
}

export type MilestoneStatus = "pending" | "reached";

export interface Milestone {
  id: number;
  campaign: number;
  title: string;
  target_amount: Money;
  status: MilestoneStatus;
  reached_at: Timestamp | null;
  created_at: Timestamp;
}

/** The whole live view of a campaign: its own fields, totals and recent items, newest first. */
export interface CampaignView {
  id: number;
  title: string;
  description: string;
  goal_amount: Money;
  raised_amount: Money;
  currency: string;
  contribution_count: number;
  owner: User;
  private?: boolean;
  created_at?: Timestamp | null;
  updates: Update[];
  releases: Release[];
  milestones: Milestone[];
  comments: Comment[];
  contributions: Contribution[];
  /** How many browsers watch the campaign, when the server reports it (it does not yet). */
  watchers?: number;
}

/** A campaign as the REST API returns it (no totals). */
export interface Campaign {
  id: number;
  title: string;
  description: string;
  goal_amount: Money;
  currency: string;
  owner: User;
  private: boolean;
  created_at: Timestamp;
}

export interface CampaignDataMessage {
  type: "campaign_data";
  data: CampaignView;
  cursor: Cursor;
}

interface EventMessage<T extends string, D> {
  type: T;
  data: D;
  cursor: Cursor;
  event_id: string;
}

export type ContributionMessage = EventMessage<"contribution", Contribution>;
export type UpdateMessage = EventMessage<"update", Update>;
export type CommentMessage = EventMessage<"comment", Comment>;
export type ReleaseMessage = EventMessage<"release", Release>;
export type MilestoneMessage = EventMessage<"milestone", Milestone>;

/** An event of the campaign's stream: it carries a cursor and an event id. */
export type CampaignEventMessage =
  | ContributionMessage
  | UpdateMessage
  | CommentMessage
  | ReleaseMessage
  | MilestoneMessage;

export interface ResumedMessage {
  type: "resumed";
  cursor: Cursor;
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
}

export interface PongMessage {
  type: "pong";
}

export type ServerMessage =
  | CampaignDataMessage
  | CampaignEventMessage
  | ResumedMessage
  | ErrorMessage
  | PongMessage;

export type ClientMessage = { type: "ping" };

export const EVENT_TYPES = ["contribution", "update", "comment", "release", "milestone"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * parseServerMessage turns a text frame into a typed message, or null when
 * the frame is not one this client understands (unknown types are ignored,
 * so the server can add new ones without breaking old clients).
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case "campaign_data":
      return isObject(m.data) && typeof m.cursor === "string" ? (m as unknown as CampaignDataMessage) : null;
    case "contribution":
    case "update":
    case "comment":
    case "release":
    case "milestone":
      return isObject(m.data) && typeof m.cursor === "string" ? (m as unknown as CampaignEventMessage) : null;
    case "resumed":
      return typeof m.cursor === "string" ? (m as unknown as ResumedMessage) : null;
    case "error":
      return { type: "error", code: String(m.code ?? ""), message: String(m.message ?? "") };
    case "pong":
      return { type: "pong" };
    default:
      return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
