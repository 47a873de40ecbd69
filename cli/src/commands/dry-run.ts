import { describeErrorBody } from '../http.ts';

/** The preprocessor's answer to POST /validate (docs/ingestion.md, "Dry run"). */
interface DryRunReport {
  dataset: string;
  contract: string | null;
  outcome: 'MERGE' | 'MERGE_PARTIAL' | 'REJECT';
  stage: 'INGEST' | 'VALIDATE' | null;
  error_code: string | null;
  reason: string | null;
  total_rows: number;
  rejected_rows: number;
  rejections: {
    file: string;
    row: number;
    primary_key: Record<string, string | null>;
    reasons: { column: string | null; rule: string; message: string }[];
  }[];
  warnings: string[];
}

export function defaultPreprocessorUrl(): string {
  return process.env.TRIBUTARY_PREPROCESSOR_URL ?? 'http://127.0.0.1:3002';
}

/**
 * `tributary submit --dry-run`: sends the form POST /batches would get to the preprocessor's
 * POST /validate, which runs the pipeline's checks and stores nothing, and prints the report the
 * batch would get. Exit 0 when it would merge (quarantined rows listed), 2 when it would be
 * rejected.
 */
export async function dryRunSubmit(
  preprocessorUrl: string,
  form: FormData,
  opts: { json?: boolean | undefined; files: number },
): Promise<number> {
  const url = `${preprocessorUrl.replace(/\/+$/, '')}/validate`;
  const res = await fetch(url, { method: 'POST', body: form }).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `the preprocessor at ${url} is unreachable (${cause?.code ?? cause?.message ?? String(err)}); set --preprocessor-url or TRIBUTARY_PREPROCESSOR_URL`,
    );
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`the dry run was refused (HTTP ${res.status}) ${describeErrorBody(text)}`);
  const report = JSON.parse(text) as DryRunReport;
  if (opts.json) {
    process.stdout.write(`${text}\n`);
    return report.outcome === 'REJECT' ? 2 : 0;
  }
  const out: string[] = [
    `dry run: ${opts.files} files checked against ${report.contract ?? '?'} for ${report.dataset}; nothing was submitted or stored`,
  ];
  for (const w of report.warnings) out.push(`warning: ${w}`);
  const bad = `${report.rejected_rows} of ${report.total_rows} rows bad`;
  if (report.outcome === 'MERGE') out.push(`would merge: ${report.total_rows} rows, none bad`);
  else if (report.outcome === 'MERGE_PARTIAL')
    out.push(`would merge the good rows: ${bad}, quarantined (${report.error_code ?? ''})`);
  else
    out.push(
      `would be rejected${report.stage === 'INGEST' ? ' by the ingestor' : ''}: ${report.error_code ?? ''}: ${report.reason ?? ''}`,
    );
  if (report.rejections.length > 0) out.push('', 'rejection report (file, row, primary key, rule, reason):');
  for (const r of report.rejections) {
    const key = Object.entries(r.primary_key)
      .map(([k, v]) => `${k}=${v ?? 'null'}`)
      .join(',');
    for (const reason of r.reasons) {
      out.push(`${r.file}\trow ${r.row}\t${key}\t${reason.rule}\t${reason.message}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return report.outcome === 'REJECT' ? 2 : 0;
}
