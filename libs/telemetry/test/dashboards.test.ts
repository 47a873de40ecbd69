import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Every metric name the code registers (`name: '...'` of prom-client metrics), plus Prometheus' own
 * `up` and the prom-client default metrics the rules read (createMetrics collects them).
 */
function declaredMetrics(): Set<string> {
  const names = new Set(['up', 'process_start_time_seconds']);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'test') walk(path);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(path, 'utf8');
        for (const m of source.matchAll(
          /new (?:Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-z_]+)'/g,
        )) {
          names.add(m[1]!);
        }
      }
    }
  };
  for (const top of ['libs', 'services']) {
    for (const pkg of readdirSync(join(root, top))) walk(join(root, top, pkg, 'src'));
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'max',
  'rate',
  'increase',
  'histogram_quantile',
  'le',
  'without',
  'on',
  'or',
  'and',
  'unless',
  'offset',
  'time',
]);

/** Metric names a PromQL expression reads (label names inside braces and the label lists of `by`, `on`, … are skipped). */
function metricsIn(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|on|without|ignoring) \([^)]*\)/g, '');
  // Not a word's tail: the unit of a duration (`offset 10m`) is no metric.
  const words = withoutLabels.match(/(?<![a-z0-9_])[a-z_][a-z0-9_]*/g) ?? [];
  return words
    .filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w))
    .map((w) => w.replace(/_(bucket|sum|count)$/, ''));
}

describe('dashboards and alerts', () => {
  const declared = declaredMetrics();

  it('when the Grafana dashboard is read, then every panel queries metrics the services export', () => {
    const dashboard = JSON.parse(
      readFileSync(join(root, 'deploy/grafana/dashboards/tributary.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const metric of metricsIn(target.expr))
          expect(declared, `${panel.title}: ${metric}`).toContain(metric);
      }
    }
  });

  it('when the Grafana dashboard is read, then it shows the end-to-end times from batch.ready to master.versioned and to retrain.requested', () => {
    const dashboard = JSON.parse(
      readFileSync(join(root, 'deploy/grafana/dashboards/tributary.json'), 'utf8'),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const queried = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr)));
    expect(queried).toContain('pipeline_ready_to_master_versioned_seconds');
    expect(queried).toContain('pipeline_ready_to_retrain_requested_seconds');
  });

  it('when the alert rules are read, then every rule queries metrics the services export', () => {
    const rules = parse(readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const metric of metricsIn(rule.expr))
        expect(declared, `${rule.alert}: ${metric}`).toContain(metric);
    }
  });

  it('when the alert rules are read, then each links its runbook section and has a promtool case', () => {
    const rules = parse(readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; annotations: Record<string, string> }[] }[];
    };
    const cases = parse(readFileSync(join(root, 'deploy/prometheus/alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set(
      cases.tests.flatMap((t) =>
        t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
      ),
    );
    // GitHub-style anchors: the heading lower-cased, as the docs link them.
    const sections = new Set(
      [...readFileSync(join(root, 'docs/operations.md'), 'utf8').matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(5);
    for (const { alert, annotations } of alerts) {
      expect(annotations.runbook_url, alert).toBe(`docs/operations.md#${alert.toLowerCase()}`);
      expect(sections, `${alert}: runbook section`).toContain(alert.toLowerCase());
      expect(firing, `${alert}: a promtool case where it fires`).toContain(alert);
    }
  });
});
