// A router of two routes does not need a library: the path is state, links
// push history entries, and popstate brings the back button along.

import { useEffect, useState } from "react";

export type Route = { name: "home" } | { name: "campaign"; id: string } | { name: "not-found" };

export function matchRoute(path: string): Route {
  if (path === "/" || path === "") return { name: "home" };
  const m = /^\/campaigns\/(\d{1,18})\/?$/.exec(path);
  if (m?.[1]) return { name: "campaign", id: m[1] };
  return { name: "not-found" };
}

export function navigate(to: string): void {
  history.pushState(null, "", to);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  return matchRoute(path);
}

/** linkProps makes an anchor navigate in-page on a plain click and behave normally otherwise. */
export function linkProps(to: string) {
  return {
    href: to,
    onClick: (e: React.MouseEvent<HTMLAnchorElement>) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
