import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, login, logout, type SessionInfo } from './api.ts';
import { BatchPage, BatchesPage } from './pages/batches.tsx';
import { DatasetPage, DatasetsPage } from './pages/datasets.tsx';
import { DeadLettersPage } from './pages/dead-letters.tsx';
import { DecisionsPage } from './pages/decisions.tsx';
import { LineagePage } from './pages/lineage.tsx';
import { RunPage, RunsPage, TrendsPage } from './pages/runs.tsx';
import { SettingsPage } from './pages/settings.tsx';
import './style.css';
import { Link } from './ui.tsx';

const NAV = [
  ['/', 'Datasets'],
  ['/batches', 'Batches'],
  ['/runs', 'Runs'],
  ['/trends', 'Quality trends'],
  ['/lineage', 'Lineage'],
  ['/decisions', 'Decisions'],
  ['/dead-letters', 'Dead letters'],
  ['/settings', 'Settings and audit'],
] as const;

function useLocation(): URL {
  const [href, setHref] = useState(location.href);
  useEffect(() => {
    const on = () => setHref(location.href);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return new URL(href);
}

function Page(props: { url: URL; session: SessionInfo }) {
  const { pathname, searchParams } = props.url;
  const part = (prefix: string) => decodeURIComponent(pathname.slice(prefix.length));
  const job = searchParams.get('job') ?? undefined;
  if (pathname === '/') return <DatasetsPage />;
  if (pathname.startsWith('/datasets/')) return <DatasetPage name={part('/datasets/')} />;
  if (pathname === '/batches') return <BatchesPage />;
  if (pathname.startsWith('/batches/')) return <BatchPage id={part('/batches/')} />;
  if (pathname === '/runs') return <RunsPage job={job} />;
  if (pathname.startsWith('/runs/')) return <RunPage version={part('/runs/')} />;
  if (pathname === '/trends') return <TrendsPage job={job} />;
  if (pathname === '/lineage') return <LineagePage batch={searchParams.get('batch') ?? undefined} />;
  if (pathname === '/decisions') return <DecisionsPage />;
  if (pathname === '/dead-letters') return <DeadLettersPage role={props.session.role} />;
  if (pathname === '/settings') return <SettingsPage role={props.session.role} />;
  return (
    <p>
      No page here. <Link href="/">Datasets</Link>
    </p>
  );
}

function Login(props: { onLogin: (s: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  return (
    <main id="main" class="login">
      <h1>Tributary console</h1>
      <form
        id="login"
        onSubmit={(e) => {
          e.preventDefault();
          login(token).then(props.onLogin, (err: unknown) =>
            setError(err instanceof Error ? err.message : String(err)),
          );
        }}
      >
        <p>Log in with the admin token, or the viewer token for read-only access.</p>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Log in</button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}

function App() {
  const url = useLocation();
  const [session, setSession] = useState<SessionInfo | null>();
  useEffect(() => {
    currentSession().then(
      (s) => setSession(s ?? null),
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p aria-busy="true">Loading…</p>;
  if (session === null) return <Login onLogin={setSession} />;
  const active = (href: string) =>
    href === '/'
      ? url.pathname === '/' || url.pathname.startsWith('/datasets')
      : url.pathname.startsWith(href);
  return (
    <>
      <a href="#main" class="skip">
        Skip to content
      </a>
      <header>
        <strong class="brand">Tributary</strong>
        <nav aria-label="Console">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <span aria-current={active(href) ? 'page' : undefined}>
                  <Link href={href}>{label}</Link>
                </span>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {session.role}{' '}
          <button type="button" onClick={() => void logout().then(() => setSession(null))}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page url={url} session={session} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
