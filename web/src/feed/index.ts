// Package feed: the browser's side of the campaign WebSocket (DESIGN.md §2).
export * from "./types";
export * from "./money";
export * from "./reducer";
export * from "./client";
export { useCampaignFeed, type CampaignFeed, type CampaignFeedOptions } from "./useCampaignFeed";
export { useWebSocket, type UseWebSocketResult } from "./useWebSocket";
