import { Writable } from 'node:stream';

/** One pino log line. */
export interface LogLine {
  level?: string | number;
  msg?: string;
  [field: string]: unknown;
}

/** A stream to give a service as its log destination, and the lines it wrote so far (parsed). */
export interface LogCapture<T> {
  stream: Writable;
  /** Grows as the service logs. */
  lines: T[];
}

/** Collects a service's JSON log lines, to assert on what it logged. */
export function captureLogs<T extends object = LogLine>(): LogCapture<T> {
  const lines: T[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '') lines.push(JSON.parse(line) as T);
      done();
    },
  });
  return { stream, lines };
}
