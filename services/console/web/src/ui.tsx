import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.ts';

/** Navigates inside the console without reloading the page. */
export function navigate(to: string): void {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** A link inside the console: an ordinary anchor (keyboard, middle click) that skips the reload. */
export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export type Loaded<T> = { data?: T; error?: string; loading: boolean; reload: () => void };

/** Fetches a console API path; reloads when the path changes or reload() is called. */
export function useApi<T>(path: string | undefined): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api.get<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (err: unknown) =>
        live &&
        setState({
          error: err instanceof ApiError || err instanceof Error ? err.message : String(err),
          loading: false,
        }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Shows a loading line, an error, or the content once loaded. */
export function Loading<T>(props: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  const { state } = props;
  if (state.error !== undefined)
    return (
      <p class="error" role="alert">
        {state.error}
      </p>
    );
  if (state.data === undefined) return <p aria-busy="true">Loading…</p>;
  return <>{props.children(state.data)}</>;
}

const STATUS_CLASS: Record<string, string> = {
  MERGED: 'ok',
  DONE: 'ok',
  passed: 'ok',
  success: 'ok',
  INGESTED: 'ok',
  QUARANTINED: 'warn',
  retrying: 'warn',
  up_for_retry: 'warn',
  REJECTED: 'bad',
  FAILED: 'bad',
  failed: 'bad',
  upstream_failed: 'muted',
  cancelled: 'muted',
  INGESTING: 'run',
  MERGING: 'run',
  RUNNING: 'run',
  running: 'run',
  PENDING: 'muted',
  pending: 'muted',
};

/** A state as text on a colour: the word carries the meaning, the colour only helps. */
export function Status(props: { value: string; label?: string }) {
  return (
    <span class={`status ${STATUS_CLASS[props.value] ?? 'muted'}`} data-status={props.value}>
      {props.label ?? props.value}
    </span>
  );
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatAge(iso: string | null | undefined): string {
  if (!iso) return '–';
  const ms = Date.now() - Date.parse(iso);
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3600_000)} h ago`;
  return `${Math.round(ms / 86_400_000)} d ago`;
}

export function time(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** Links of a run id: its trace in Jaeger, when the console knows Jaeger's address. */
export function TraceLink(props: { runId: string | null | undefined }) {
  const links = useApi<{ jaeger?: string; mlflow?: string }>('/api/links');
  if (!props.runId) return <span>–</span>;
  const jaeger = links.data?.jaeger;
  return jaeger ? (
    <a href={`${jaeger.replace(/\/$/, '')}/trace/${props.runId}`} target="_blank" rel="noreferrer">
      <code>{props.runId.slice(0, 12)}</code> trace
    </a>
  ) : (
    <code title={props.runId}>{props.runId.slice(0, 12)}</code>
  );
}
