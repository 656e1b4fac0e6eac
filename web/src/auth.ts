// The demo sign-in: the client mints nothing. A token minted on the server's
// machine (bin/mint-token -sub 1 -username ada) is pasted into the page or
// passed as ?token=, and kept in localStorage. Only its claims are read here,
// to show who is signed in and to stop using it once it has expired; the
// server verifies it.

import { useCallback, useEffect, useState } from "react";

const KEY = "campaign-live.token";

export interface Claims {
  sub: string;
  username: string;
  exp?: number;
}

/** decodeClaims reads a JWT's payload without verifying it; null if it is not one. */
export function decodeClaims(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const c = JSON.parse(json) as Partial<Claims>;
    if (typeof c.sub !== "string") return null;
    return { sub: c.sub, username: typeof c.username === "string" ? c.username : `user ${c.sub}`, exp: c.exp };
  } catch {
    return null;
  }
}

export function isExpired(c: Claims, now = Date.now()): boolean {
  return typeof c.exp === "number" && c.exp * 1000 <= now;
}

function readStored(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** takeTokenFromURL moves ?token= into storage and out of the address bar (and history). */
function takeTokenFromURL(): string | null {
  const url = new URL(location.href);
  const t = url.searchParams.get("token");
  if (!t) return null;
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return t.trim();
}

export interface Session {
  token: string | null;
  claims: Claims | null;
  signIn: (token: string) => string | null;
  signOut: () => void;
}

/** useSession is the current demo token, valid and unexpired, or null. */
export function useSession(): Session {
  const [token, setToken] = useState<string | null>(() => {
    const t = takeTokenFromURL() ?? readStored();
    const c = t ? decodeClaims(t) : null;
    if (!t || !c || isExpired(c)) return null;
    try {
      localStorage.setItem(KEY, t);
    } catch {
      // Private mode: the token lives for this page only.
    }
    return t;
  });

  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === KEY) setToken(e.newValue);
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const signIn = useCallback((raw: string): string | null => {
    const t = raw.trim();
    const c = decodeClaims(t);
    if (!c) return "That is not a token: paste the whole output of bin/mint-token.";
    if (isExpired(c)) return "That token has expired: mint a new one.";
    try {
      localStorage.setItem(KEY, t);
    } catch {
      // Kept in memory only.
    }
    setToken(t);
    return null;
  }, []);

  const signOut = useCallback(() => {
    try {
      localStorage.removeItem(KEY);
    } catch {
      // Nothing stored.
    }
    setToken(null);
  }, []);

  const claims = token ? decodeClaims(token) : null;
  return { token: claims && !isExpired(claims) ? token : null, claims, signIn, signOut };
}
