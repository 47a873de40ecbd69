import type { consoleApi } from '@tributary/api';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Loading, time, useApi } from '../ui.tsx';

const when = (c: { changedAt: string }) => time(c.changedAt);

export function SettingsPage(props: { role: 'admin' | 'viewer' }) {
  const state = useApi<consoleApi.Settings>('/api/settings');
  const [value, setValue] = useState('');
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await api.put('/api/settings/retrain-threshold', { value: Number(value) });
      setMessage({ text: `RETRAIN_THRESHOLD_ROWS is now ${value}.`, error: false });
      state.reload();
    } catch (err) {
      setMessage({ text: err instanceof Error ? err.message : String(err), error: true });
    }
  };
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings and audit</h1>
      {message ? (
        <p class={message.error ? 'error' : 'notice'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      ) : null}
      <Loading state={state}>
        {(s) => (
          <>
            <h2>Retrain threshold</h2>
            <p>
              RETRAIN_THRESHOLD_ROWS (the implicit policy of undeclared datasets):{' '}
              <strong>{String(s.retrainThreshold.current.value)}</strong>. Declared datasets use their own{' '}
              <code>threshold_rows</code>.
            </p>
            {props.role === 'admin' ? (
              <form onSubmit={(e) => void save(e)}>
                <label>
                  New threshold (rows){' '}
                  <input
                    type="number"
                    min={0}
                    required
                    value={value}
                    onInput={(e) => setValue((e.target as HTMLInputElement).value)}
                  />
                </label>{' '}
                <button type="submit">Change</button>
              </form>
            ) : null}
            <ul>
              {s.retrainThreshold.changes.map((c, i) => (
                <li key={i}>
                  {when(c)}: {JSON.stringify(c.oldValue)} → {JSON.stringify(c.newValue)} by {c.actor}
                </li>
              ))}
            </ul>
            <h2>Declarations</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Revision</th>
                  <th scope="col">What</th>
                  <th scope="col">Change</th>
                  <th scope="col">By</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {s.catalog.map((c) => (
                  <tr key={c.revision}>
                    <td>{c.revision}</td>
                    <td>
                      {c.kind} {c.name}
                    </td>
                    <td>{c.action}</td>
                    <td>{c.actor}</td>
                    <td>{when(c)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Baselines</h2>
            {s.baselines.map((b) => (
              <div key={b.name}>
                <h3>{b.name}</h3>
                <ul>
                  {b.changes.map((c, i) => (
                    <li key={i}>
                      {when(c)}: {c.action} by {c.actor}
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </>
        )}
      </Loading>
    </section>
  );
}
