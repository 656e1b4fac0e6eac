// The campaign state a feed builds from its messages. A campaign_data
// replaces everything (it may come first or mid-stream, docs/decisions.md);
// each event is applied once, in cursor order, and events at or before the
// last applied cursor are dropped (the cursor sorts as a plain string within
// one campaign).

import { addMoney, compareMoney } from "./money";
import type { CampaignView, Contribution, Cursor, ServerMessage } from "./types";

/** How many items of each recent list the client keeps. */
export const RECENT_LIMIT = 50;

export interface FeedState {
  campaign: CampaignView | null;
  /** The cursor of the last campaign_data, event or resumed message applied. */
  cursor: Cursor | null;
}

export const initialFeedState: FeedState = { campaign: null, cursor: null };

/** isNewer reports whether cursor comes after last (always, when there is no last). */
export function isNewer(cursor: Cursor, last: Cursor | null): boolean {
  return last === null || cursor > last;
}

/**
 * feedReducer applies one server message. It returns the same object when
 * the message changes nothing (a duplicate, a pong, an error), so React can
 * skip a render.
 */
export function feedReducer(state: FeedState, msg: ServerMessage): FeedState {
  switch (msg.type) {
    case "campaign_data":
      return { campaign: normalize(msg.data), cursor: msg.cursor };
    case "resumed":
      return isNewer(msg.cursor, state.cursor) ? { ...state, cursor: msg.cursor } : state;
    case "error":
    case "pong":
      return state;
  }
  // An event: drop duplicates and anything before the first snapshot.
  const c = state.campaign;
  if (c === null || !isNewer(msg.cursor, state.cursor)) return state;
  if (msg.data.campaign !== c.id) return state;
  const cursor = msg.cursor;
  switch (msg.type) {
    case "contribution":
      return { cursor, campaign: applyContribution(c, msg.data) };
    case "update":
      return { cursor, campaign: { ...c, updates: upsert(c.updates, msg.data) } };
    case "comment":
      return { cursor, campaign: { ...c, comments: upsert(c.comments, msg.data) } };
    case "release":
      return { cursor, campaign: { ...c, releases: upsert(c.releases, msg.data) } };
    case "milestone":
      return { cursor, campaign: { ...c, milestones: upsert(c.milestones, msg.data) } };
  }
}

// applyContribution adds a live contribution to the total, in integer cents.
// The same contribution id seen twice (a producer retry that reached the
// client at a new cursor) counts once.
function applyContribution(c: CampaignView, k: Contribution): CampaignView {
  if (c.contributions.some((x) => x.id === k.id)) return c;
  const sameCurrency = k.currency === c.currency;
  return {
    ...c,
    raised_amount: sameCurrency ? addMoney(c.raised_amount, k.amount) : c.raised_amount,
    contribution_count: c.contribution_count + 1,
    contributions: [k, ...c.contributions].slice(0, RECENT_LIMIT),
  };
}

// upsert replaces the item with the same id where it stands (a milestone
// that was reached), or puts a new one first.
function upsert<T extends { id: number }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i >= 0) {
    const next = list.slice();
    next[i] = item;
    return next;
  }
  return [item, ...list].slice(0, RECENT_LIMIT);
}

// normalize makes the lists of a campaign_data arrays even if a server
// leaves one out, so the UI never meets undefined.
function normalize(d: CampaignView): CampaignView {
  return {
    ...d,
    updates: d.updates ?? [],
    releases: d.releases ?? [],
    milestones: d.milestones ?? [],
    comments: d.comments ?? [],
    contributions: d.contributions ?? [],
  };
}

/** milestonesByTarget orders milestones for a timeline: lowest target first, then by id. */
export function milestonesByTarget(c: CampaignView): CampaignView["milestones"] {
  return c.milestones
    .slice()
    .sort((a, b) => compareMoney(a.target_amount, b.target_amount) || a.id - b.id);
}
