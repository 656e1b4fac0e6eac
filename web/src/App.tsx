import { useEffect } from "react";

import { useSession } from "./auth";
import { ToastProvider } from "./components/Toasts";
import { Dashboard } from "./pages/Dashboard";
import { Home } from "./pages/Home";
import { linkProps, useRoute } from "./router";

export function App() {
  const route = useRoute();
  const session = useSession();

  // Move focus to the new page's heading on navigation, as a page load would.
  useEffect(() => {
    document.querySelector<HTMLElement>("main h1")?.focus({ preventScroll: true });
  }, [route.name, route.name === "campaign" ? route.id : ""]);

  return (
    <ToastProvider>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" {...linkProps("/")}>
          <span className="brand-mark" aria-hidden="true" />
          <span>
            campaign<span className="brand-accent">live</span>
          </span>
        </a>
        <div className="session" aria-live="polite">
          {session.claims && session.token ? (
            <>
              <span className="session-user">
                <span className="session-label">Signed in as </span>
                <strong>{session.claims.username}</strong>
              </span>
              <button type="button" className="btn btn-ghost btn-small" onClick={session.signOut}>
                Sign out
              </button>
            </>
          ) : (
            <span className="session-user muted">Watching anonymously</span>
          )}
        </div>
      </header>
      <main id="main">
        {route.name === "home" && <Home session={session} />}
        {route.name === "campaign" && <Dashboard key={route.id} id={route.id} session={session} />}
        {route.name === "not-found" && (
          <section className="page narrow">
            <h1 tabIndex={-1}>Page not found</h1>
            <p>
              <a {...linkProps("/")}>See all campaigns</a>
            </p>
          </section>
        )}
      </main>
    </ToastProvider>
  );
}
