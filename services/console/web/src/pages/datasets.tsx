import type { consoleApi } from '@tributary/api';
import { TimeChart } from '../chart.tsx';
import { Link, Loading, formatAge, time, useApi } from '../ui.tsx';

export function DatasetsPage() {
  const state = useApi<{ datasets: consoleApi.DatasetWithMaster[] }>('/api/datasets');
  return (
    <section aria-labelledby="datasets-title">
      <h1 id="datasets-title">Datasets</h1>
      <Loading state={state}>
        {({ datasets }) =>
          datasets.length === 0 ? (
            <p>
              No dataset is declared yet: apply a declaration with <code>tributary datasets apply</code>.
            </p>
          ) : (
            <table>
              <caption>Declared datasets, their current master and what they drive</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col">Master version</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Last version</th>
                  <th scope="col">Contract versions</th>
                  <th scope="col">Retrain policies</th>
                  <th scope="col">Refresh jobs</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d) => (
                  <tr key={d.name} data-dataset={d.name}>
                    <th scope="row">
                      <Link href={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                      {d.spec.description ? <div class="sub">{d.spec.description}</div> : null}
                    </th>
                    <td>{d.master ? `v${d.master.version}` : 'none yet'}</td>
                    <td class="num">{d.master ? d.master.row_count.toLocaleString() : '–'}</td>
                    <td>{d.master ? formatAge(d.master.committed_at) : '–'}</td>
                    <td>
                      {d.spec.contract.versions.map((v) => (
                        <span class={`tag ${v === d.spec.contract.current ? 'current' : ''}`} key={v}>
                          {d.spec.contract.name}@{v}
                        </span>
                      ))}
                    </td>
                    <td>
                      {d.spec.retrain_policies.length === 0
                        ? 'none'
                        : d.spec.retrain_policies.map((p) => (
                            <div key={p.model}>
                              {p.model} ≥ {p.threshold_rows} rows
                            </div>
                          ))}
                    </td>
                    <td>
                      {d.spec.refresh_jobs.length === 0
                        ? 'none'
                        : d.spec.refresh_jobs.map((j) => (
                            <div key={j.name}>
                              <Link href={`/runs?job=${encodeURIComponent(j.name)}`}>{j.name}</Link>{' '}
                              <span class="sub">
                                {j.schedule ?? 'no schedule'}
                                {j.on_master_versioned ? ', on each master' : ''}
                              </span>
                            </div>
                          ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}

export function DatasetPage(props: { name: string }) {
  const state = useApi<consoleApi.DatasetDetail>(`/api/datasets/${encodeURIComponent(props.name)}`);
  return (
    <section aria-labelledby="dataset-title">
      <h1 id="dataset-title">Dataset {props.name}</h1>
      <Loading state={state}>
        {({ dataset, versions, changes }) => {
          const ordered = [...versions].reverse();
          return (
            <>
              <p>
                Owners: {dataset.spec.owners.join(', ') || '–'} · declaration generation {dataset.generation}{' '}
                · contract {dataset.spec.contract.name}@{dataset.spec.contract.current}
              </p>
              <h2>Rows over time</h2>
              {ordered.length === 0 ? (
                <p>No master version yet.</p>
              ) : (
                <TimeChart
                  label={`Master rows of ${props.name} per version`}
                  x={ordered.map((v) => Date.parse(v.committed_at) / 1000)}
                  lines={[{ label: 'rows', values: ordered.map((v) => v.row_count), colour: '#1d4ed8' }]}
                />
              )}
              <h2>Master versions</h2>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Rows</th>
                    <th scope="col">Added</th>
                    <th scope="col">Rejected</th>
                    <th scope="col">Batches</th>
                    <th scope="col">Committed</th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v) => (
                    <tr key={v.version}>
                      <td>v{v.version}</td>
                      <td class="num">{v.row_count}</td>
                      <td class="num">{v.rows_added}</td>
                      <td class="num">{v.rows_rejected}</td>
                      <td>
                        {v.batch_ids.map((b) => (
                          <Link key={b} href={`/batches/${encodeURIComponent(b)}`}>
                            {b}{' '}
                          </Link>
                        ))}
                      </td>
                      <td>{time(v.committed_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Declaration history</h2>
              <ul>
                {changes.map((c) => (
                  <li key={c.revision}>
                    revision {c.revision}: {c.action} by {c.actor}, {time(c.changedAt)}
                  </li>
                ))}
              </ul>
            </>
          );
        }}
      </Loading>
    </section>
  );
}
