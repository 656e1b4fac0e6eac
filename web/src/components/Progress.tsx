import { formatMoney, progressBasisPoints, type CampaignView } from "../feed";
import { plural } from "../format";

/** Progress shows the raised total against the goal; the bar moves with each contribution. */
export function Progress({ campaign }: { campaign: CampaignView }) {
  const bp = progressBasisPoints(campaign.raised_amount, campaign.goal_amount);
  const pct = bp / 100;
  const pctLabel = `${Math.floor(pct)}%`;
  return (
    <section className="card progress-card" aria-labelledby="progress-heading">
      <h2 id="progress-heading" className="visually-hidden">
        Funding progress
      </h2>
      <div className="raised">
        <span className="raised-amount" data-testid="raised-amount">
          {formatMoney(campaign.raised_amount, campaign.currency)}
        </span>
        <span className="raised-goal">
          raised of {formatMoney(campaign.goal_amount, campaign.currency)} goal
        </span>
      </div>
      <div
        className={`bar ${bp >= 10000 ? "bar-done" : ""}`}
        role="progressbar"
        aria-label="Raised toward the goal"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.floor(pct)}
        aria-valuetext={`${pctLabel} of the goal`}
        data-testid="progress-bar"
      >
        <div className="bar-fill" style={{ width: `${pct}%` }} />
      </div>
      <dl className="stats">
        <div>
          <dt>Funded</dt>
          <dd data-testid="progress-percent">{pctLabel}</dd>
        </div>
        <div>
          <dt>Contributions</dt>
          <dd data-testid="contribution-count">{new Intl.NumberFormat().format(campaign.contribution_count)}</dd>
        </div>
        {typeof campaign.watchers === "number" && (
          <div>
            <dt>Watching now</dt>
            <dd data-testid="watchers">{plural(campaign.watchers, "person", "people")}</dd>
          </div>
        )}
      </dl>
    </section>
  );
}
