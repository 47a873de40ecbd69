import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, startTracing, withLogFields, withSpan } from '../src/index.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('when a line is written inside a run, then it carries dag_run_id (the trace id), span_id, task_id and dataset_version', async () => {
    const tracing = startTracing({ serviceName: 'logger-test' });
    const { lines, destination } = capture();
    const log = createLogger({ serviceName: 'logger-test', destination });
    let traceId = '';
    await withSpan('task', {}, async (span) => {
      traceId = span.spanContext().traceId;
      withLogFields({ task_id: 'quality_gate', dataset_version: 'eval-20261124' }, () => log.info('inside'));
      return Promise.resolve();
    });
    await tracing.shutdown();
    expect(lines[0]).toMatchObject({
      msg: 'inside',
      service: 'logger-test',
      dag_run_id: traceId,
      trace_id: traceId,
      task_id: 'quality_gate',
      dataset_version: 'eval-20261124',
    });
    expect(lines[0]!.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('when a line holds secrets, then they are masked', () => {
    const { lines, destination } = capture();
    const log = createLogger({ serviceName: 'logger-test', destination });
    log.info({ password: 'hunter2', token: 'abc', headers: { authorization: 'Bearer xyz' } }, 'secrets');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abc"');
    expect(text).not.toContain('Bearer xyz');
    expect(lines[0]).toMatchObject({ password: '***', token: '***', headers: { authorization: '***' } });
  });
});
