import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A local stand-in of a third-party JSON endpoint (Slack, PagerDuty). */
export interface JsonReceiver {
  /** Where to post: `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** Every JSON body accepted, in order. */
  bodies: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts a JSON receiver: it answers 415 to a body that is not `application/json`, 503 to the first
 * `failFirst` posts, and records the others, answering 202 as Slack and PagerDuty do.
 */
export async function startJsonReceiver(opts: { failFirst?: number } = {}): Promise<JsonReceiver> {
  const bodies: Record<string, unknown>[] = [];
  let failures = opts.failFirst ?? 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      if (req.headers['content-type'] !== 'application/json') res.writeHead(415).end();
      else if (failures > 0) {
        failures--;
        res.writeHead(503).end('try later');
      } else {
        bodies.push(JSON.parse(data) as Record<string, unknown>);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success"}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One email as the SMTP receiver got it: the envelope recipients and the raw message. */
export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** A local SMTP server without authentication or TLS that keeps every email it receives. */
export interface SmtpReceiver {
  host: string;
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (smtp.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((r) => smtp.close(() => r())),
  };
}
