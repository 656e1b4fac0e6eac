import { useEffect, useId, useState, type FormEvent } from "react";

import { api, ApiError } from "../api";
import type { Session } from "../auth";
import type { Campaign } from "../feed";
import { formatMoney } from "../feed";
import { timeAgo } from "../format";
import { linkProps, navigate } from "../router";

type Load = { state: "loading" } | { state: "error"; message: string } | { state: "ok"; campaigns: Campaign[] };

const DEMO_TITLES = ["Solar kiln for the village pottery", "Open-source braille printer", "Community bike kitchen", "Seed library for the valley"];

export function Home({ session }: { session: Session }) {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);

  const refresh = () => {
    api
      .listCampaigns()
      .then((r) => setLoad({ state: "ok", campaigns: r.campaigns }))
      .catch((e: Error) => setLoad({ state: "error", message: e.message }));
  };
  useEffect(refresh, []);

  async function createDemo() {
    if (!session.token) return;
    setCreating(true);
    setCreateError(null);
    try {
      const title = DEMO_TITLES[Math.floor(Math.random() * DEMO_TITLES.length)] ?? "Demo campaign";
      const c = await api.createCampaign(session.token, {
        title,
        description: "A demo campaign made from the start page. Contribute to it and watch the dashboard move live.",
        goal_amount: "1000.00",
        currency: "USD",
      });
      navigate(`/campaigns/${c.id}`);
    } catch (e) {
      setCreateError(e instanceof ApiError ? e.message : String(e));
      setCreating(false);
    }
  }

  return (
    <div className="page">
      <section className="hero">
        <h1 tabIndex={-1}>Campaigns, live</h1>
        <p className="lead">Every contribution, update and milestone appears the moment it happens, on every screen watching.</p>
      </section>

      <div className="layout">
        <section className="col-main card" aria-labelledby="list-heading">
          <div className="card-head">
            <h2 id="list-heading">Public campaigns</h2>
            <button type="button" className="btn btn-ghost btn-small" onClick={refresh}>
              Refresh
            </button>
          </div>
          {load.state === "loading" && <p aria-busy="true">Loading campaigns…</p>}
          {load.state === "error" && (
            <p className="form-error" role="alert">
              Could not load campaigns: {load.message}
            </p>
          )}
          {load.state === "ok" && load.campaigns.length === 0 && <p className="empty">No campaigns yet. Create a demo one.</p>}
          {load.state === "ok" && load.campaigns.length > 0 && (
            <ul className="campaign-list">
              {load.campaigns.map((c) => (
                <li key={c.id}>
                  <a className="campaign-link" {...linkProps(`/campaigns/${c.id}`)}>
                    <span className="campaign-link-title">{c.title}</span>
                    <span className="meta">
                      #{c.id} · by {c.owner.username} · goal {formatMoney(c.goal_amount, c.currency)} · {timeAgo(c.created_at)}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </section>

        <aside className="col-side">
          <section className="card" aria-labelledby="demo-heading">
            <h2 id="demo-heading">Start a demo campaign</h2>
            {session.token ? (
              <>
                <p>You are signed in as <strong>{session.claims?.username}</strong>. Create a campaign with a $1,000 goal and open its dashboard.</p>
                <button type="button" className="btn" onClick={() => void createDemo()} disabled={creating}>
                  {creating ? "Creating…" : "Create a demo campaign"}
                </button>
                {createError && (
                  <p className="form-error" role="alert">
                    {createError}
                  </p>
                )}
              </>
            ) : (
              <SignIn session={session} />
            )}
          </section>
        </aside>
      </div>
    </div>
  );
}

function SignIn({ session }: { session: Session }) {
  const id = useId();
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(session.signIn(value));
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Sign in as a demo user">
      <p>
        Creating and contributing needs a sign-in. This demo takes a token minted on the machine that runs the
        server:
      </p>
      <pre className="code">
        <code>bin/mint-token -sub 1 -username ada</code>
      </pre>
      <div className="field">
        <label htmlFor={`${id}-token`}>Demo token</label>
        <input
          id={`${id}-token`}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="eyJhbGciOiJIUzI1NiIs…"
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-help${error ? ` ${id}-error` : ""}`}
          required
        />
        <p className="hint" id={`${id}-help`}>
          Or open this page with <code>?token=…</code>. The token stays in this browser only.
        </p>
      </div>
      {error && (
        <p className="form-error" role="alert" id={`${id}-error`}>
          {error}
        </p>
      )}
      <button type="submit" className="btn">
        Sign in
      </button>
    </form>
  );
}
