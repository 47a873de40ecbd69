import type { retrainPolicy } from '@tributary/api';
import { Loading, Status, TraceLink, time, useApi } from '../ui.tsx';

export function DecisionsPage() {
  const state = useApi<{ decisions: retrainPolicy.Decision[] }>('/api/decisions?limit=100');
  return (
    <section aria-labelledby="decisions-title">
      <h1 id="decisions-title">Retrain decisions</h1>
      <Loading state={state}>
        {({ decisions }) =>
          decisions.length === 0 ? (
            <p>No decision yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Decided</th>
                  <th scope="col">Dataset</th>
                  <th scope="col">Master</th>
                  <th scope="col">Model</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Run</th>
                </tr>
              </thead>
              <tbody>
                {decisions.map((d) => (
                  <tr key={d.id}>
                    <td>{time(d.decidedAt)}</td>
                    <td>{d.dataset}</td>
                    <td>v{d.masterVersion}</td>
                    <td>{d.modelName ?? '–'}</td>
                    <td>
                      <Status value={d.requested ? 'passed' : 'PENDING'} label={d.outcome} />
                    </td>
                    <td>{d.reason}</td>
                    <td>
                      <TraceLink runId={d.runId} />
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
