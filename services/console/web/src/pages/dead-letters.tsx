import type { consoleApi } from '@tributary/api';
import { useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Loading, TraceLink, time, useApi } from '../ui.tsx';

type Letter = consoleApi.DeadLetter;

const idOf = (l: Letter) => `${l.service}-${l.dlq.partition}-${l.dlq.offset}`;

export function DeadLettersPage(props: { role: 'admin' | 'viewer' }) {
  const state = useApi<consoleApi.DeadLetters>('/api/dead-letters');
  const [open, setOpen] = useState<string>();
  const [pending, setPending] = useState<Letter>();
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  const dialog = useRef<HTMLDialogElement>(null);

  const ask = (l: Letter) => {
    setPending(l);
    dialog.current?.showModal();
  };
  const replay = async () => {
    const l = pending;
    dialog.current?.close();
    if (!l) return;
    try {
      await api.post(`/api/dead-letters/${encodeURIComponent(l.service)}/replay`, {
        partition: l.dlq.partition,
        offset: l.dlq.offset,
      });
      setMessage({
        text: `Replayed ${l.dlq.topic} ${l.dlq.partition}:${l.dlq.offset} to ${l.source?.topic ?? '?'}.`,
        error: false,
      });
      state.reload();
    } catch (err) {
      setMessage({ text: err instanceof Error ? err.message : String(err), error: true });
    }
  };

  return (
    <section aria-labelledby="dlq-title">
      <h1 id="dlq-title">Dead letters</h1>
      <p class="sub">Messages a service could not process after its retries, not replayed yet.</p>
      {message ? (
        <p class={message.error ? 'error' : 'notice'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      ) : null}
      <button type="button" onClick={state.reload}>
        Refresh
      </button>
      <Loading state={state}>
        {({ services, letters }) =>
          letters.length === 0 ? (
            <p id="no-dead-letters">No dead letter waits on {services.length} services' topics.</p>
          ) : (
            <table id="dead-letters">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Dead letter</th>
                  <th scope="col">Original</th>
                  <th scope="col">Error</th>
                  <th scope="col">When</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {letters.map((l) => (
                  <>
                    <tr key={idOf(l)} data-letter={`${l.service}/${l.dlq.partition}:${l.dlq.offset}`}>
                      <td>{l.service}</td>
                      <td>
                        <code>
                          {l.dlq.partition}:{l.dlq.offset}
                        </code>
                        {l.replay_of ? <div class="sub">replay of {l.replay_of}</div> : null}
                      </td>
                      <td>
                        {l.source ? `${l.source.topic} ${l.source.partition}:${l.source.offset}` : '–'}
                        {l.event ? <div class="sub">{l.event.name}</div> : null}
                      </td>
                      <td>{l.error ? `${l.error.code}: ${l.error.message}` : (l.decode_error ?? '–')}</td>
                      <td>{time(l.dead_lettered_at)}</td>
                      <td>
                        <button
                          type="button"
                          aria-expanded={open === idOf(l)}
                          onClick={() => setOpen(open === idOf(l) ? undefined : idOf(l))}
                        >
                          Inspect
                        </button>{' '}
                        {props.role === 'admin' ? (
                          <button type="button" class="danger" onClick={() => ask(l)}>
                            Replay
                          </button>
                        ) : null}
                      </td>
                    </tr>
                    {open === idOf(l) ? (
                      <tr key={`${idOf(l)}-detail`}>
                        <td colSpan={6}>
                          <p>
                            Run: <TraceLink runId={l.run_id} /> · key <code>{l.key ?? '(none)'}</code>
                          </p>
                          <pre class="block">{JSON.stringify(l, null, 2)}</pre>
                        </td>
                      </tr>
                    ) : null}
                  </>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <dialog ref={dialog} aria-labelledby="replay-title">
        <h2 id="replay-title">Replay this dead letter?</h2>
        <p>
          {pending
            ? `The original message of ${pending.dlq.topic} ${pending.dlq.partition}:${pending.dlq.offset} goes back to ${pending.source?.topic ?? '?'} and ${pending.service} processes it again.`
            : ''}
        </p>
        <button type="button" class="danger" onClick={() => void replay()}>
          Replay
        </button>{' '}
        <button type="button" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </dialog>
    </section>
  );
}
