import { useMemo } from 'preact/hooks';
import { TimeChart, type Line } from '../chart.tsx';
import { Link, Loading, Status, TraceLink, formatMs, navigate, time, useApi } from '../ui.tsx';

interface Run {
  datasetVersion: string;
  job: string;
  dataset: string;
  trigger: string;
  masterVersion: number | null;
  runId: string | null;
  status: 'running' | 'retrying' | 'passed' | 'failed' | 'cancelled';
  attempt: number;
  nextAttemptAt: string | null;
  failedTask: string | null;
  reason: string | null;
  reportUri: string | null;
  candidateUri: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** When each task of each attempt started, in order. */
  tasks: { attempt: number; task: string; startedAt: string }[];
}

/** The refresh's tasks in order (the seed's nightly DAG). */
const TASKS = ['ingest_sources', 'generate_candidate', 'quality_gate'] as const;

/** A task's state in a run, from the run's status, the tasks its attempt started and the one that failed. */
function taskState(run: Run, task: string): string {
  const failedAt = run.failedTask === null ? -1 : TASKS.indexOf(run.failedTask as (typeof TASKS)[number]);
  const index = TASKS.indexOf(task as (typeof TASKS)[number]);
  if (run.status === 'running') {
    const started = run.tasks.filter((t) => t.attempt === run.attempt).map((t) => t.task);
    const last = started.at(-1);
    if (last === undefined) return 'pending';
    if (task === last) return 'running';
    return started.includes(task) ? 'success' : 'pending';
  }
  switch (run.status) {
    case 'passed':
      return 'success';
    case 'failed':
      if (failedAt < 0) return 'failed';
      return index < failedAt ? 'success' : index === failedAt ? 'failed' : 'upstream_failed';
    case 'retrying':
      if (failedAt < 0) return 'up_for_retry';
      return index < failedAt ? 'success' : index === failedAt ? 'up_for_retry' : 'pending';
    case 'cancelled': {
      // Cancelled by an operator: in the task it had reached, or parked before its next attempt.
      const started = run.tasks.filter((t) => t.attempt === run.attempt).map((t) => t.task);
      if (!started.includes(task)) return 'pending';
      return task === started.at(-1) ? 'cancelled' : 'success';
    }
  }
}

/** Each task of each attempt with its duration: until the next task of the attempt, or the run's end. */
function taskTimings(run: Run): { attempt: number; task: string; startedAt: string; ms: number | null }[] {
  return run.tasks.map((t, i) => {
    const next = run.tasks[i + 1];
    const end =
      next !== undefined && next.attempt === t.attempt
        ? next.startedAt
        : t.attempt === run.attempt
          ? run.finishedAt
          : null;
    return { ...t, ms: end === null ? null : Date.parse(end) - Date.parse(t.startedAt) };
  });
}

export function RunsPage(props: { job?: string | undefined }) {
  const path = `/api/runs?limit=30${props.job ? `&job=${encodeURIComponent(props.job)}` : ''}`;
  const state = useApi<{ runs: Run[] }>(path);
  const jobs = useApi<{ jobs: { job: string; dataset: string }[] }>('/api/jobs');
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Refresh runs{props.job ? ` of ${props.job}` : ''}</h1>
      <label>
        Evaluation set{' '}
        <select
          value={props.job ?? ''}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            navigate(v ? `/runs?job=${encodeURIComponent(v)}` : '/runs');
          }}
        >
          <option value="">all</option>
          {(jobs.data?.jobs ?? []).map((j) => (
            <option key={j.job} value={j.job}>
              {j.job} ({j.dataset})
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="button" onClick={state.reload}>
        Refresh
      </button>
      <Loading state={state}>
        {({ runs }) => {
          const ordered = [...runs].reverse();
          return runs.length === 0 ? (
            <p>No run yet.</p>
          ) : (
            <div class="grid-scroll">
              <table class="grid" id="runs-grid">
                <caption>
                  Tasks (rows) of each run (columns, oldest left), coloured by state; retries show as “try n”
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Task</th>
                    {ordered.map((r) => (
                      <th scope="col" key={r.datasetVersion} data-run={r.datasetVersion}>
                        <Link href={`/runs/${encodeURIComponent(r.datasetVersion)}`}>
                          <Status value={r.status} label={r.status} />
                        </Link>
                        <div class="sub">{r.job}</div>
                        <div class="sub">{new Date(r.startedAt).toLocaleTimeString()}</div>
                        {r.attempt > 1 ? <div class="sub">try {r.attempt}</div> : null}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {TASKS.map((task) => (
                    <tr key={task}>
                      <th scope="row">{task}</th>
                      {ordered.map((r) => {
                        const s = taskState(r, task);
                        return (
                          <td key={r.datasetVersion} data-run={r.datasetVersion} data-task={task}>
                            <Link href={`/runs/${encodeURIComponent(r.datasetVersion)}`} class="cell">
                              <Status value={s} label={s.replace('_', ' ')} />
                            </Link>
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Loading>
    </section>
  );
}

interface Metric {
  metric: string;
  baseline: number | null;
  value: number;
  delta: number | null;
  threshold: number;
  pass: boolean;
}
interface Report {
  passed: boolean;
  metrics: Metric[];
  coverage_gaps: unknown[];
  candidate_rows: number;
  sources: { name: string; rows?: number; checksum?: string }[];
}

const num = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(4));

export function RunPage(props: { version: string }) {
  const state = useApi<{ run: Run; report: Report | null }>(`/api/runs/${encodeURIComponent(props.version)}`);
  return (
    <section aria-labelledby="run-title">
      <h1 id="run-title">Run {props.version}</h1>
      <Loading state={state}>
        {({ run, report }) => (
          <>
            <dl class="facts">
              <dt>Status</dt>
              <dd id="run-status">
                <Status value={run.status} /> {run.reason ?? ''}
              </dd>
              <dt>Evaluation set</dt>
              <dd>
                <Link href={`/runs?job=${encodeURIComponent(run.job)}`}>{run.job}</Link> of {run.dataset}
              </dd>
              <dt>Trigger</dt>
              <dd>
                {run.trigger}
                {run.masterVersion !== null ? ` (master v${run.masterVersion})` : ''}
              </dd>
              <dt>Attempt</dt>
              <dd>
                {run.attempt}
                {run.nextAttemptAt ? `, next at ${time(run.nextAttemptAt)}` : ''}
              </dd>
              <dt>Timing</dt>
              <dd>
                {time(run.startedAt)} → {time(run.finishedAt)} (
                {formatMs(run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null)})
              </dd>
              <dt>Trace</dt>
              <dd>
                <TraceLink runId={run.runId} />
              </dd>
              <dt>Report</dt>
              <dd>
                <code>{run.reportUri ?? '–'}</code>
              </dd>
            </dl>
            <h2 id="tasks-title">Tasks</h2>
            <ol class="tasks">
              {TASKS.map((t) => (
                <li key={t}>
                  {t}: <Status value={taskState(run, t)} />
                </li>
              ))}
            </ol>
            {run.tasks.length > 0 ? (
              <table id="task-timings" aria-labelledby="tasks-title">
                <thead>
                  <tr>
                    <th scope="col">Attempt</th>
                    <th scope="col">Task</th>
                    <th scope="col">Started</th>
                    <th scope="col">Duration</th>
                  </tr>
                </thead>
                <tbody>
                  {taskTimings(run).map((t) => (
                    <tr key={`${t.attempt}-${t.task}`} data-task={t.task}>
                      <td>{t.attempt}</td>
                      <td>{t.task}</td>
                      <td>{time(t.startedAt)}</td>
                      <td class="num">{formatMs(t.ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            <h2 id="quality-title">Quality report</h2>
            {report === null ? (
              <p>No quality report (the run did not reach the gate).</p>
            ) : (
              <>
                <table id="quality-report" aria-labelledby="quality-title">
                  <thead>
                    <tr>
                      <th scope="col">Metric</th>
                      <th scope="col">Value</th>
                      <th scope="col">Baseline</th>
                      <th scope="col">Delta</th>
                      <th scope="col">Threshold</th>
                      <th scope="col">Gate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.metrics.map((m) => (
                      <tr key={m.metric} data-metric={m.metric} class={m.pass ? '' : 'failing'}>
                        <th scope="row">{m.metric}</th>
                        <td class="num">{num(m.value)}</td>
                        <td class="num">{num(m.baseline)}</td>
                        <td class="num">{num(m.delta)}</td>
                        <td class="num">{num(m.threshold)}</td>
                        <td>
                          <Status value={m.pass ? 'passed' : 'failed'} label={m.pass ? 'pass' : 'fail'} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <h2>Coverage gaps</h2>
                {report.coverage_gaps.length === 0 ? (
                  <p>None: every required slice is covered.</p>
                ) : (
                  <pre class="block" id="coverage-gaps">
                    {JSON.stringify(report.coverage_gaps, null, 2)}
                  </pre>
                )}
              </>
            )}
          </>
        )}
      </Loading>
    </section>
  );
}

const COLOURS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c'];

interface Point {
  run: string;
  job: string;
  startedAt: string;
  status: string;
  metrics: Metric[];
}

export function TrendsPage(props: { job?: string | undefined }) {
  const jobs = useApi<{ jobs: { job: string; dataset: string }[] }>('/api/jobs');
  const job = props.job ?? jobs.data?.jobs[0]?.job;
  const state = useApi<{ points: Point[] }>(job ? `/api/trends?job=${encodeURIComponent(job)}` : undefined);
  const charts = useMemo(() => {
    const points = state.data?.points ?? [];
    const names = [...new Set(points.flatMap((p) => p.metrics.map((m) => m.metric)))];
    const x = points.map((p) => Date.parse(p.startedAt) / 1000);
    return names.map((name, i) => {
      const of = (p: Point) => p.metrics.find((m) => m.metric === name);
      const lines: Line[] = [
        {
          label: name,
          values: points.map((p) => of(p)?.value ?? null),
          colour: COLOURS[i % COLOURS.length]!,
        },
        {
          label: 'threshold',
          values: points.map((p) => of(p)?.threshold ?? null),
          colour: '#374151',
          dash: [6, 4],
        },
      ];
      return { name, x, lines };
    });
  }, [state.data]);
  return (
    <section aria-labelledby="trends-title">
      <h1 id="trends-title">Quality trends{job ? ` of ${job}` : ''}</h1>
      <label>
        Evaluation set{' '}
        <select
          value={job ?? ''}
          onChange={(e) =>
            navigate(`/trends?job=${encodeURIComponent((e.target as HTMLSelectElement).value)}`)
          }
        >
          {(jobs.data?.jobs ?? []).map((j) => (
            <option key={j.job} value={j.job}>
              {j.job}
            </option>
          ))}
        </select>
      </label>
      {job === undefined && jobs.data ? <p>No evaluation set is declared.</p> : null}
      <Loading state={state}>
        {() =>
          charts.length === 0 ? (
            <p>No run with a quality report yet.</p>
          ) : (
            <div class="charts">
              {charts.map((c) => (
                <figure key={c.name}>
                  <figcaption>{c.name} per run against its threshold (dashed)</figcaption>
                  <TimeChart
                    label={`${c.name} of ${job ?? ''} per run, with its threshold`}
                    x={c.x}
                    lines={c.lines}
                    height={180}
                  />
                </figure>
              ))}
            </div>
          )
        }
      </Loading>
    </section>
  );
}
