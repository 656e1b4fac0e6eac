import { useCallback, useEffect, useState } from "react";

import { api } from "../api";
import type { Session } from "../auth";
import { ConnectionBanner } from "../components/ConnectionBanner";
import { Comments, Contributions, Milestones, Releases, Updates } from "../components/Feeds";
import { InlineForm } from "../components/InlineForm";
import { LiveBadge } from "../components/LiveBadge";
import { Progress } from "../components/Progress";
import { useToast, type ToastInput } from "../components/Toasts";
import { formatMoney, useCampaignFeed, type CampaignEventMessage, type CampaignView, type FeedState, type ServerMessage } from "../feed";
import { fullDate, plural } from "../format";
import { linkProps } from "../router";

const QUICK_AMOUNTS = ["10.00", "25.00", "50.00", "100.00"];

/** toastFor describes a live event for a toast. */
export function toastFor(msg: CampaignEventMessage, currency: string): ToastInput {
  switch (msg.type) {
    case "contribution":
      return { tone: "money", title: `${msg.data.user.username} contributed ${formatMoney(msg.data.amount, msg.data.currency || currency)}` };
    case "update":
      return { tone: "info", title: "New update", body: msg.data.title };
    case "comment":
      return { tone: "info", title: `${msg.data.user.username} commented`, body: clip(msg.data.content) };
    case "release":
      return { tone: "info", title: `Released ${msg.data.version}`, body: msg.data.title };
    case "milestone":
      return msg.data.status === "reached"
        ? { tone: "success", title: "Milestone reached!", body: msg.data.title }
        : { tone: "info", title: "New milestone", body: `${msg.data.title} · ${formatMoney(msg.data.target_amount, currency)}` };
  }
}

function clip(s: string, n = 120): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function Dashboard({ id, session }: { id: string; session: Session }) {
  const toast = useToast();
  useTick(30_000); // keeps "2 minutes ago" true while the page stays open
  const [currency, setCurrency] = useState("USD");
  const onEvent = useCallback((msg: CampaignEventMessage) => toast(toastFor(msg, currency)), [toast, currency]);
  // A campaign_data over an existing view (a reconnect the server could not
  // resume exactly) replaces it: say what changed meanwhile, since those
  // events get no toasts of their own.
  const onMessage = useCallback(
    (msg: ServerMessage, before: FeedState) => {
      const was = before.campaign;
      if (msg.type !== "campaign_data" || !was || was.id !== msg.data.id) return;
      const n = msg.data.contribution_count - was.contribution_count;
      if (n > 0) {
        toast({
          tone: "money",
          title: `Back live: ${plural(n, "contribution", "contributions")} while you were away`,
          body: `${formatMoney(msg.data.raised_amount, msg.data.currency)} raised so far`,
        });
      }
    },
    [toast],
  );
  const feed = useCampaignFeed(id, { token: session.token, onEvent, onMessage });
  const fallback = useRestFallback(id, feed.campaign === null && feed.connection.status === "reconnecting");
  // Until the socket delivers, the REST view stands in (read-only, and the
  // banner says updates are not live).
  const campaign = feed.campaign ?? fallback;

  useEffect(() => {
    if (campaign) {
      setCurrency(campaign.currency);
      document.title = `${campaign.title} · campaign-live`;
    }
    return () => {
      document.title = "campaign-live";
    };
  }, [campaign?.title, campaign?.currency]);

  if (!campaign) {
    return (
      <div className="page">
        <ConnectionBanner connection={feed.connection} onRetry={feed.reconnect} onSignOut={session.token ? session.signOut : undefined} />
        {feed.connection.fatal ? (
          <section className="page narrow">
            <h1 tabIndex={-1}>{feed.connection.fatal.code === 4404 ? "Campaign not found" : "This campaign is not available"}</h1>
            <p>{feed.connection.fatal.message}</p>
            <p>
              <a {...linkProps("/")}>See all campaigns</a>
            </p>
          </section>
        ) : (
          <div className="skeleton" aria-busy="true" aria-live="polite">
            <h1 tabIndex={-1} className="visually-hidden">
              Loading campaign {id}
            </h1>
            <div className="sk sk-title" />
            <div className="sk sk-line" />
            <div className="sk sk-card" />
          </div>
        )}
      </div>
    );
  }

  const signedIn = session.token !== null && session.claims !== null;
  const isOwner = signedIn && String(campaign.owner.id) === session.claims?.sub;
  const token = session.token ?? "";

  return (
    <div className="page dashboard">
      <ConnectionBanner connection={feed.connection} onRetry={feed.reconnect} onSignOut={session.token ? session.signOut : undefined} />
      <nav aria-label="Breadcrumb" className="crumbs">
        <a {...linkProps("/")}>Campaigns</a> <span aria-hidden="true">/</span> <span aria-current="page">{campaign.title}</span>
      </nav>
      <header className="campaign-header">
        <div>
          <h1 tabIndex={-1} data-testid="campaign-title">
            {campaign.title}
          </h1>
          <p className="byline">
            by <strong>{campaign.owner.username}</strong>
            {campaign.created_at && <> · started {fullDate(campaign.created_at)}</>}
            {campaign.private && <span className="tag">Private</span>}
          </p>
        </div>
        <LiveBadge status={feed.connection.status} />
      </header>
      {campaign.description && <p className="description prose">{campaign.description}</p>}

      <div className="layout">
        <div className="col-main">
          <Progress campaign={campaign} />
          <ContributePanel campaign={campaign} token={signedIn ? token : null} />
          <Updates
            campaign={campaign}
            footer={
              isOwner && (
                <InlineForm
                  collapsed
                  title="Post an update"
                  submit="Post update"
                  fields={[
                    { name: "title", label: "Title", required: true },
                    { name: "content", label: "What's new?", type: "textarea", required: true },
                    { name: "image", label: "Image URL (optional)", type: "url" },
                  ]}
                  onSubmit={(v) => api.postUpdate(token, campaign.id, { title: v.title ?? "", content: v.content ?? "", ...(v.image ? { image: v.image } : {}) })}
                />
              )
            }
          />
          <Comments
            campaign={campaign}
            footer={
              signedIn ? (
                <InlineForm
                  title="Add a comment"
                  submit="Comment"
                  fields={[{ name: "content", label: "Your comment", type: "textarea", required: true }]}
                  onSubmit={(v) => api.comment(token, campaign.id, v.content ?? "")}
                />
              ) : (
                <p className="hint">Sign in on the start page to comment.</p>
              )
            }
          />
        </div>
        <aside className="col-side" aria-label="Campaign activity">
          <Milestones
            campaign={campaign}
            footer={
              isOwner && (
                <InlineForm
                  collapsed
                  title="Add a milestone"
                  submit="Add milestone"
                  fields={[
                    { name: "title", label: "Title", required: true },
                    { name: "target_amount", label: `Target (${campaign.currency})`, type: "money", required: true, placeholder: "500.00" },
                  ]}
                  onSubmit={(v) => api.milestone(token, campaign.id, { title: v.title ?? "", target_amount: v.target_amount ?? "" })}
                />
              )
            }
          />
          <Contributions campaign={campaign} />
          <Releases
            campaign={campaign}
            footer={
              isOwner && (
                <InlineForm
                  collapsed
                  title="Announce a release"
                  submit="Announce"
                  fields={[
                    { name: "title", label: "Title", required: true },
                    { name: "version", label: "Version", required: true, placeholder: "v1.0.0" },
                    { name: "notes", label: "Notes", type: "textarea" },
                  ]}
                  onSubmit={(v) => api.release(token, campaign.id, { title: v.title ?? "", version: v.version ?? "", notes: v.notes ?? "" })}
                />
              )
            }
          />
        </aside>
      </div>
    </div>
  );
}

function useTick(everyMs: number): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
}

// useRestFallback reads the live view over REST once when asked: when the
// socket cannot connect at first, the page still shows the campaign.
function useRestFallback(id: string, wanted: boolean): CampaignView | null {
  const [view, setView] = useState<CampaignView | null>(null);
  const [tried, setTried] = useState(false);
  useEffect(() => {
    if (!wanted || tried) return;
    setTried(true);
    let live = true;
    api
      .liveView(id)
      .then((m) => live && setView(m.data))
      .catch(() => {
        // The banner already says updates are unavailable.
      });
    return () => {
      live = false;
    };
  }, [id, wanted, tried]);
  return view;
}

function ContributePanel({ campaign, token }: { campaign: CampaignView; token: string | null }) {
  const [status, setStatus] = useState<string | null>(null);
  if (!token) {
    return (
      <section className="card contribute" aria-labelledby="contribute-heading">
        <h2 id="contribute-heading">Back this campaign</h2>
        <p className="hint">
          <a {...linkProps("/")}>Sign in</a> with a demo token to contribute. You can watch live without one.
        </p>
      </section>
    );
  }
  const give = (amount: string) =>
    api.contribute(token, campaign.id, amount, campaign.currency).then(() => setStatus(`Thank you! ${formatMoney(amount, campaign.currency)} is on its way.`));
  return (
    <section className="card contribute" aria-labelledby="contribute-heading">
      <h2 id="contribute-heading">Back this campaign</h2>
      <div className="quick-amounts" role="group" aria-label="Contribute a set amount">
        {QUICK_AMOUNTS.map((a) => (
          <button key={a} type="button" className="btn btn-outline" onClick={() => void give(a).catch((e: Error) => setStatus(e.message))}>
            {formatMoney(a, campaign.currency)}
          </button>
        ))}
      </div>
      <InlineForm
        title="Contribute another amount"
        submit="Contribute"
        fields={[{ name: "amount", label: `Amount (${campaign.currency})`, type: "money", required: true, placeholder: "25.50" }]}
        onSubmit={(v) => give(v.amount ?? "")}
      />
      <p className="hint" aria-live="polite">
        {status}
      </p>
    </section>
  );
}
