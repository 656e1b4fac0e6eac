// The REST API, same origin. Writes need a bearer JWT; errors are RFC 9457
// problem JSON, surfaced as ApiError with the field they blame, if any.

import type { Campaign, CampaignDataMessage, Comment, Contribution, Milestone, Release, Update } from "./feed";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly field?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ApiError";
  }
}

async function request<T>(method: string, path: string, token?: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "The server cannot be reached", "Check your connection and try again.");
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below by status.
  }
  if (!res.ok) {
    const p = (json ?? {}) as { title?: string; detail?: string; field?: string };
    throw new ApiError(res.status, p.title ?? res.statusText ?? "Request failed", p.detail, p.field);
  }
  return json as T;
}

export const api = {
  listCampaigns: () => request<{ campaigns: Campaign[] }>("GET", "/api/campaigns"),
  /** The live view over REST: the same campaign_data message the socket sends first. */
  liveView: (id: string | number) => request<CampaignDataMessage>("GET", `/api/live/campaigns/${id}`),
  createCampaign: (token: string, c: { title: string; description: string; goal_amount: string; currency: string; private?: boolean }) =>
    request<Campaign>("POST", "/api/campaigns", token, c),
  contribute: (token: string, id: number, amount: string, currency: string) =>
    request<Contribution>("POST", `/api/campaigns/${id}/contributions`, token, { amount, currency }),
  postUpdate: (token: string, id: number, u: { title: string; content: string; image?: string }) =>
    request<Update>("POST", `/api/campaigns/${id}/updates`, token, u),
  comment: (token: string, id: number, content: string) =>
    request<Comment>("POST", `/api/campaigns/${id}/comments`, token, { content }),
  release: (token: string, id: number, r: { title: string; version: string; notes: string }) =>
    request<Release>("POST", `/api/campaigns/${id}/releases`, token, r),
  milestone: (token: string, id: number, m: { title: string; target_amount: string }) =>
    request<Milestone>("POST", `/api/campaigns/${id}/milestones`, token, m),
};
