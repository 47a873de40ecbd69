import { useEffect, useMemo, useState } from 'preact/hooks';
import type { consoleApi, ingestor } from '@tributary/api';
import { Link, Loading, Status, TraceLink, formatMs, time, useApi } from '../ui.tsx';

type BatchRow = ingestor.BatchSummary;

/** The live list: a snapshot, then each new or changed batch pushed by the server (SSE). */
function useLiveBatches(): { batches: BatchRow[]; connected: boolean; problem?: string } {
  const [byId, setById] = useState<Map<string, BatchRow>>(new Map());
  const [connected, setConnected] = useState(false);
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    const source = new EventSource('/api/batches/live');
    source.addEventListener('open', () => setConnected(true));
    source.addEventListener('error', () => setConnected(false));
    source.addEventListener('snapshot', (e) => {
      const list = JSON.parse((e as MessageEvent<string>).data) as BatchRow[];
      setById(new Map(list.map((b) => [b.batch_id, b])));
      setProblem(undefined);
    });
    source.addEventListener('batch', (e) => {
      const batch = JSON.parse((e as MessageEvent<string>).data) as BatchRow;
      setById((m) => new Map(m).set(batch.batch_id, batch));
      setProblem(undefined);
    });
    source.addEventListener('problem', (e) => {
      setProblem((JSON.parse((e as MessageEvent<string>).data) as { message: string }).message);
    });
    return () => source.close();
  }, []);
  const batches = useMemo(
    () => [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)),
    [byId],
  );
  return problem === undefined ? { batches, connected } : { batches, connected, problem };
}

export function BatchesPage() {
  const { batches, connected, problem } = useLiveBatches();
  const [filter, setFilter] = useState('');
  const shown = batches.filter(
    (b) =>
      filter === '' ||
      b.batch_id.includes(filter) ||
      b.dataset.includes(filter) ||
      b.status.includes(filter.toUpperCase()),
  );
  return (
    <section aria-labelledby="batches-title">
      <h1 id="batches-title">Batches</h1>
      <p class="sub" aria-live="polite">
        {connected
          ? 'Live: new batches and stage changes appear as they happen.'
          : 'Connecting to the live list…'}
      </p>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      <label>
        Filter{' '}
        <input
          type="search"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          placeholder="batch, dataset or status"
        />
      </label>
      <table id="batch-list">
        <caption>Latest batches with the status and duration of each stage</caption>
        <thead>
          <tr>
            <th scope="col">Batch</th>
            <th scope="col">Dataset</th>
            <th scope="col">Status</th>
            <th scope="col">Ingest</th>
            <th scope="col">Validate and merge</th>
            <th scope="col">Master</th>
            <th scope="col">Submitted</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((b) => (
            <tr key={b.batch_id} data-batch={b.batch_id}>
              <th scope="row">
                <Link href={`/batches/${encodeURIComponent(b.batch_id)}`}>{b.batch_id}</Link>
              </th>
              <td>{b.dataset}</td>
              <td>
                <Status value={b.status} />
                {b.rows_rejected ? <span class="sub"> {b.rows_rejected} rows refused</span> : null}
              </td>
              <td>
                <Status value={b.stages.ingest.status} /> {formatMs(b.stages.ingest.duration_ms)}
              </td>
              <td>
                <Status value={b.stages.merge.status} /> {formatMs(b.stages.merge.duration_ms)}
              </td>
              <td>{b.master_version === null ? '–' : `v${b.master_version}`}</td>
              <td>{time(b.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 ? <p>No batch yet.</p> : null}
    </section>
  );
}

export function BatchPage(props: { id: string }) {
  const state = useApi<consoleApi.BatchDetail>(`/api/batches/${encodeURIComponent(props.id)}`);
  const [filter, setFilter] = useState('');
  return (
    <section aria-labelledby="batch-title">
      <h1 id="batch-title">Batch {props.id}</h1>
      <Loading state={state}>
        {({ batch, report, master, files }) => {
          const rows = (report?.rows ?? []).filter((r) => {
            if (filter === '') return true;
            const text = `${r.file} ${r.row} ${JSON.stringify(r.primary_key)} ${r.reasons.map((v) => `${v.rule} ${v.column ?? ''} ${v.message}`).join(' ')}`;
            return text.toLowerCase().includes(filter.toLowerCase());
          });
          const download = `data:application/json;charset=utf-8,${encodeURIComponent(JSON.stringify(report?.rows ?? [], null, 2))}`;
          return (
            <>
              <dl class="facts">
                <dt>Dataset</dt>
                <dd>{batch.dataset}</dd>
                <dt>Ingest</dt>
                <dd>
                  <Status value={batch.status} />{' '}
                  {batch.error_code ? `${batch.error_code}: ${batch.reason ?? ''}` : ''}
                </dd>
                <dt>Validate and merge</dt>
                <dd id="batch-outcome">
                  {batch.merge ? (
                    <>
                      <Status
                        value={
                          batch.merge.status === 'MERGED' && (batch.merge.rows_rejected ?? 0) > 0
                            ? 'QUARANTINED'
                            : batch.merge.status
                        }
                      />{' '}
                      {batch.merge.master_version !== null
                        ? `into master v${batch.merge.master_version}`
                        : ''}{' '}
                      {batch.merge.error_code ? `${batch.merge.error_code}: ${batch.merge.reason ?? ''}` : ''}
                    </>
                  ) : (
                    <Status value="PENDING" label="not decided yet" />
                  )}
                </dd>
                <dt>Producer</dt>
                <dd>
                  {batch.producer ?? '–'} ({batch.source ?? '–'})
                </dd>
                <dt>Contract</dt>
                <dd>{batch.contract ? `${batch.contract.name}@${batch.contract.version}` : '–'}</dd>
                <dt>Run</dt>
                <dd>
                  <TraceLink runId={batch.run_id} /> ·{' '}
                  <Link href={`/lineage?batch=${encodeURIComponent(batch.batch_id)}`}>lineage</Link>
                </dd>
                <dt>Content sha256</dt>
                <dd>
                  <code>{batch.content_hash ?? '–'}</code>
                </dd>
                <dt>Raw snapshot</dt>
                <dd>
                  <code>{batch.raw_location ?? '–'}</code> (md5 <code>{batch.raw_md5 ?? '–'}</code>, DVC file{' '}
                  <code>{batch.raw_dvc_file ?? '–'}</code>)
                </dd>
                <dt>Submitted</dt>
                <dd>
                  {time(batch.created_at)}, ingested {time(batch.ingested_at)}
                </dd>
              </dl>
              <h2 id="files-title">Files and checksums</h2>
              {files.length === 0 ? (
                <p>No raw snapshot.</p>
              ) : (
                <table id="files" aria-labelledby="files-title">
                  <thead>
                    <tr>
                      <th scope="col">File</th>
                      <th scope="col">Bytes</th>
                      <th scope="col">sha256</th>
                      <th scope="col">md5 (DVC)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {files.map((f) => {
                      // The checksums the ingestor took as it copied the file (sha256 is what producers declare).
                      const ingested = batch.files?.find((i) => i.path === f.relpath);
                      return (
                        <tr key={f.relpath}>
                          <td>{f.relpath}</td>
                          <td>{ingested ? ingested.size_bytes : '—'}</td>
                          <td>{ingested ? <code>{ingested.sha256}</code> : '—'}</td>
                          <td>
                            <code>{f.md5}</code>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
              {master ? (
                <p class="sub">
                  Master v{master.version} (checksum <code>{master.checksum}</code>) recorded this raw
                  snapshot as <code>{master.raw_checksums?.[batch.batch_id] ?? '–'}</code>.
                </p>
              ) : null}
              <h2 id="report-title">Rejection report</h2>
              {report === null || report.rows.length === 0 ? (
                <p>No row was refused.</p>
              ) : (
                <>
                  <p>
                    {report.rows_rejected} rows refused, {report.rows_merged} merged.{' '}
                    <a href={download} download={`${batch.batch_id}-rejections.json`}>
                      Download the report (JSON)
                    </a>
                  </p>
                  <label>
                    Filter rows{' '}
                    <input
                      type="search"
                      value={filter}
                      onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
                      placeholder="rule, column, value…"
                    />
                  </label>
                  <table id="rejections" aria-labelledby="report-title">
                    <thead>
                      <tr>
                        <th scope="col">File</th>
                        <th scope="col">Row</th>
                        <th scope="col">Key</th>
                        <th scope="col">Reasons</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((r) => (
                        <tr key={`${r.file}:${r.row}`}>
                          <td>{r.file}</td>
                          <td class="num">{r.row}</td>
                          <td>
                            <code>{Object.values(r.primary_key).join(', ')}</code>
                          </td>
                          <td>
                            <ul class="reasons">
                              {r.reasons.map((v, i) => (
                                <li key={i}>
                                  <strong>{v.rule}</strong>
                                  {v.column ? ` (${v.column})` : ''}: {v.message}
                                </li>
                              ))}
                            </ul>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </>
          );
        }}
      </Loading>
    </section>
  );
}
