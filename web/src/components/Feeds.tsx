import type { ReactNode } from "react";

import { formatMoney, milestonesByTarget, type CampaignView } from "../feed";
import { fullDate, timeAgo } from "../format";

function Time({ at }: { at: string | null | undefined }) {
  if (!at) return null;
  return (
    <time dateTime={at} title={fullDate(at)}>
      {timeAgo(at)}
    </time>
  );
}

function Initial({ name }: { name: string }) {
  // A stable hue per name, so the same person keeps the same colour.
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return (
    <span className="avatar" aria-hidden="true" style={{ background: `hsl(${h} 55% 42%)` }}>
      {name.slice(0, 1).toUpperCase()}
    </span>
  );
}

export function FeedSection(props: { id: string; title: string; count: number; empty: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <section className="card feed" aria-labelledby={`${props.id}-heading`}>
      <h2 id={`${props.id}-heading`}>
        {props.title}
        {props.count > 0 && <span className="count">{props.count}</span>}
      </h2>
      {props.count === 0 ? <p className="empty">{props.empty}</p> : props.children}
      {props.footer}
    </section>
  );
}

export function Contributions({ campaign, footer }: { campaign: CampaignView; footer?: ReactNode }) {
  const list = campaign.contributions;
  return (
    <FeedSection id="contributions" title="Contributions" count={list.length} empty="No contributions yet. Be the first!" footer={footer}>
      <ol className="feed-list" data-testid="contributions">
        {list.map((c) => (
          <li key={c.id} className="feed-item contribution">
            <Initial name={c.user.username} />
            <div className="feed-main">
              <p>
                <strong>{c.user.username}</strong> contributed
              </p>
              <p className="meta">
                <Time at={c.created_at} />
              </p>
            </div>
            <span className="amount">{formatMoney(c.amount, c.currency)}</span>
          </li>
        ))}
      </ol>
    </FeedSection>
  );
}

export function Updates({ campaign, footer }: { campaign: CampaignView; footer?: ReactNode }) {
  const list = campaign.updates;
  return (
    <FeedSection id="updates" title="Updates" count={list.length} empty="The creator has not posted an update yet." footer={footer}>
      <ol className="feed-list" data-testid="updates">
        {list.map((u) => (
          <li key={u.id} className="feed-item stacked">
            <article>
              <h3>{u.title}</h3>
              <p className="meta">
                <Time at={u.created_at} />
              </p>
              {u.image && safeImage(u.image) && <img className="update-image" src={u.image} alt="" loading="lazy" />}
              <p className="prose">{u.content}</p>
            </article>
          </li>
        ))}
      </ol>
    </FeedSection>
  );
}

export function Comments({ campaign, footer }: { campaign: CampaignView; footer?: ReactNode }) {
  const list = campaign.comments;
  return (
    <FeedSection id="comments" title="Comments" count={list.length} empty="No comments yet." footer={footer}>
      <ol className="feed-list" data-testid="comments">
        {list.map((c) => (
          <li key={c.id} className="feed-item">
            <Initial name={c.user.username} />
            <div className="feed-main">
              <p>
                <strong>{c.user.username}</strong> <span className="meta"><Time at={c.created_at} /></span>
              </p>
              <p className="prose">{c.content}</p>
            </div>
          </li>
        ))}
      </ol>
    </FeedSection>
  );
}

export function Releases({ campaign, footer }: { campaign: CampaignView; footer?: ReactNode }) {
  const list = campaign.releases;
  return (
    <FeedSection id="releases" title="Releases" count={list.length} empty="Nothing released yet." footer={footer}>
      <ol className="feed-list" data-testid="releases">
        {list.map((r) => (
          <li key={r.id} className="feed-item stacked">
            <article>
              <h3>
                <span className="version">{r.version}</span> {r.title}
              </h3>
              <p className="meta">
                <Time at={r.created_at} />
              </p>
              {r.notes && <p className="prose">{r.notes}</p>}
            </article>
          </li>
        ))}
      </ol>
    </FeedSection>
  );
}

export function Milestones({ campaign, footer }: { campaign: CampaignView; footer?: ReactNode }) {
  const list = milestonesByTarget(campaign);
  return (
    <FeedSection id="milestones" title="Milestones" count={list.length} empty="No milestones set." footer={footer}>
      <ol className="timeline" data-testid="milestones">
        {list.map((m) => {
          const reached = m.status === "reached";
          return (
            <li key={m.id} className={`milestone ${reached ? "reached" : "pending"}`} data-status={m.status}>
              <span className="milestone-dot" aria-hidden="true" />
              <div>
                <p className="milestone-title">
                  {m.title}
                  <span className="visually-hidden">{reached ? " (reached)" : " (not reached yet)"}</span>
                </p>
                <p className="meta">
                  {formatMoney(m.target_amount, campaign.currency)}
                  {reached ? (
                    <>
                      {" · "}
                      <span className="tag tag-success" aria-hidden="true">Reached</span> <Time at={m.reached_at} />
                    </>
                  ) : null}
                </p>
              </div>
            </li>
          );
        })}
      </ol>
    </FeedSection>
  );
}

// safeImage lets only http(s) images through; anything else is not shown.
function safeImage(src: string): boolean {
  try {
    const u = new URL(src, location.href);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}
