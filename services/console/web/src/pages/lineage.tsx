import type { consoleApi, preprocessor } from '@tributary/api';
import { useState } from 'preact/hooks';
import { Loading, Status, TraceLink, navigate, useApi } from '../ui.tsx';

type Lineage = preprocessor.Lineage;

const STATE: Record<preprocessor.LineageLink['state'], string> = {
  found: 'DONE',
  missing: 'PENDING',
  unavailable: 'FAILED',
};

/** batch → raw snapshot → master version → quality report → published manifest → retrain request. */
export function LineagePage(props: { batch?: string | undefined }) {
  const [input, setInput] = useState(props.batch ?? '');
  const links = useApi<consoleApi.Links>('/api/links');
  const state = useApi<Lineage>(
    props.batch ? `/api/lineage?batch_id=${encodeURIComponent(props.batch)}` : undefined,
  );
  return (
    <section aria-labelledby="lineage-title">
      <h1 id="lineage-title">Lineage</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/lineage?batch=${encodeURIComponent(input.trim())}`);
        }}
      >
        <label>
          Batch id{' '}
          <input value={input} onInput={(e) => setInput((e.target as HTMLInputElement).value)} required />
        </label>{' '}
        <button type="submit">Show its chain</button>
      </form>
      {props.batch ? (
        <Loading state={state}>
          {(lineage) => (
            <ol class="lineage" aria-label={`Lineage of batch ${props.batch}`}>
              {lineage.links.map((l, i) => (
                <li key={`${l.kind}-${i}`} class={`node ${l.state}`}>
                  <div class="kind">{l.kind}</div>
                  <Status value={STATE[l.state]} label={l.state} />
                  {l.id ? (
                    <div>
                      <code>{l.id}</code>
                    </div>
                  ) : null}
                  {l.location ? (
                    <div class="sub">
                      files: <code>{l.location}</code>
                    </div>
                  ) : null}
                  {l.checksum ? (
                    <div class="sub">
                      checksum <code>{l.checksum.slice(0, 16)}</code>
                    </div>
                  ) : null}
                  {l.runId ? (
                    <div class="sub">
                      <TraceLink runId={l.runId} />
                    </div>
                  ) : null}
                  {l.kind === 'retrain request' &&
                  links.data?.mlflow &&
                  typeof l.detail.model_name === 'string' ? (
                    <div class="sub">
                      <a
                        href={`${links.data.mlflow.replace(/\/$/, '')}/#/models/${encodeURIComponent(l.detail.model_name)}`}
                        target="_blank"
                        rel="noreferrer"
                      >
                        MLflow model
                      </a>
                    </div>
                  ) : null}
                  {Object.entries(l.detail).length > 0 ? (
                    <dl class="detail">
                      {Object.entries(l.detail).map(([k, v]) => (
                        <div key={k}>
                          <dt>{k}</dt>
                          <dd>
                            {typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v)}
                          </dd>
                        </div>
                      ))}
                    </dl>
                  ) : null}
                  {l.note ? <div class="sub">{l.note}</div> : null}
                </li>
              ))}
            </ol>
          )}
        </Loading>
      ) : (
        <p>Give a batch id, or open a batch and follow its lineage link.</p>
      )}
    </section>
  );
}
