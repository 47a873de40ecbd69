import { readFileSync } from 'node:fs';
import Mustache from 'mustache';
import nodemailer from 'nodemailer';
import { AppError } from '@tributary/errors';
import { createObjectStore, type ObjectStoreOptions } from '@tributary/storage';
import type { Email, PagerDutyTrigger, QualityReport, SlackMessage } from '../domain/ports.ts';

/** POSTs JSON to a third-party endpoint; any non-2xx answer is a retriable error. */
export async function postJson(url: string, body: unknown, timeoutMs: number, what: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new AppError('NOT_ERR_DELIVERY', `${what} unreachable`, { cause: err });
  }
  if (!res.ok) {
    throw new AppError('NOT_ERR_DELIVERY', `${what} answered ${res.status}: ${await res.text()}`);
  }
}

export const slackChannel = (webhook: string, timeoutMs: number) => (m: SlackMessage) =>
  postJson(webhook, m, timeoutMs, 'Slack webhook');

export const pagerDutyChannel = (url: string, timeoutMs: number) => (e: PagerDutyTrigger) =>
  postJson(url, e, timeoutMs, 'PagerDuty');

/** Email over SMTP with nodemailer. */
export function emailChannel(opts: {
  host: string;
  port: number;
  secure: boolean;
  user?: string | undefined;
  password?: string | undefined;
  from: string;
}) {
  const transport = nodemailer.createTransport({
    host: opts.host,
    port: opts.port,
    secure: opts.secure,
    ...(opts.user && opts.password ? { auth: { user: opts.user, pass: opts.password } } : {}),
    tls: { rejectUnauthorized: false },
  });
  return {
    send: async (m: Email) => {
      try {
        await transport.sendMail({
          from: opts.from,
          to: [...m.to],
          subject: m.subject,
          text: m.text,
          attachments: m.attachments,
        });
      } catch (err) {
        throw new AppError('NOT_ERR_DELIVERY', 'SMTP delivery failed', { cause: err });
      }
    },
    close: () => transport.close(),
  };
}

/** Renders coverage_gap_report.md from the mustache template (read once). */
export function coverageRenderer(templatePath: string): (view: Record<string, unknown>) => string {
  const template = readFileSync(templatePath, 'utf8');
  // Markdown, not HTML: nothing is escaped.
  return (view) => Mustache.render(template, view, {}, { escape: (s: string) => s });
}

/** Reads quality_report.json by URI (file:// or s3://). */
export function reportReader(s3: ObjectStoreOptions) {
  return async (uri: string): Promise<QualityReport> => {
    const slash = uri.lastIndexOf('/');
    const body = await createObjectStore(uri.slice(0, slash), s3).getBuffer(uri.slice(slash + 1));
    return JSON.parse(body.toString('utf8')) as QualityReport;
  };
}
