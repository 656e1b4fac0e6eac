// Exact money arithmetic on decimal strings. Amounts travel as strings with
// at most two decimals ("25.50"); they are added here as integer hundredths
// in a bigint and never pass through a float, so 0.10 + 0.20 is 0.30 and a
// total of any size stays exact.

import type { Money } from "./types";

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** toCents parses a decimal string into hundredths; it throws on anything else. */
export function toCents(amount: Money): bigint {
  const m = DECIMAL.exec(amount.trim());
  if (!m) throw new RangeError(`not a decimal amount with at most two decimals: ${JSON.stringify(amount)}`);
  const [, sign, whole = "0", frac = ""] = m;
  const cents = BigInt(whole) * 100n + BigInt(frac.padEnd(2, "0"));
  return sign ? -cents : cents;
}

/** fromCents formats hundredths as a decimal string with exactly two decimals. */
export function fromCents(cents: bigint): Money {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, "0");
  return `${neg ? "-" : ""}${whole}.${frac}`;
}

/** addMoney returns a + b, exactly, with two decimals. */
export function addMoney(a: Money, b: Money): Money {
  return fromCents(toCents(a) + toCents(b));
}

/** compareMoney returns -1, 0 or 1 as a is less than, equal to or greater than b. */
export function compareMoney(a: Money, b: Money): -1 | 0 | 1 {
  const d = toCents(a) - toCents(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * progressBasisPoints is raised / goal in hundredths of a percent, clamped to
 * [0, 10000], computed in integers. A goal of zero counts as reached.
 */
export function progressBasisPoints(raised: Money, goal: Money): number {
  const g = toCents(goal);
  const r = toCents(raised);
  if (g <= 0n) return 10000;
  if (r <= 0n) return 0;
  const bp = (r * 10000n) / g;
  return Number(bp > 10000n ? 10000n : bp);
}

/**
 * formatMoney renders an amount for people, in the campaign's currency, from
 * the exact decimal string (Intl formats numeric strings without rounding
 * them through a float).
 */
export function formatMoney(amount: Money, currency: string, locale?: string): string {
  try {
    const fmt = new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
    // Intl.NumberFormat v3 takes a decimal string exactly; the cast is for
    // TypeScript's lib, which still types the argument as number | bigint.
    return fmt.format(fromCents(toCents(amount)) as unknown as number);
  } catch {
    return `${amount} ${currency}`;
  }
}
