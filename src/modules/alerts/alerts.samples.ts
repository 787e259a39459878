import { matches } from '../../lib/alerting.js';
import type { MetricsQuery } from '../metrics/metrics.query.js';

/**
 * The evaluator's one input from the metrics: the latest sample of every series that matches an
 * enabled rule, as (rule, series labels, value, at). The metrics store answers the latest sample
 * of every series of the rules' metrics in one statement (`query.latest`); the rules' label
 * matchers (containment: a series matches when it carries every key and value of the rule's) are
 * applied here, per metric, and a sample older than `freshSince` is no data.
 */
export interface RuleSample {
  ruleId: string;
  labels: Record<string, string>;
  value: number;
  at: Date;
}

export async function latestSamples(
  metrics: Pick<MetricsQuery, 'latest'>,
  rules: readonly { id: string; metric: string; labels: Record<string, string> }[],
  freshSince: Date,
): Promise<RuleSample[]> {
  if (!rules.length) return [];
  const names = [...new Set(rules.map((r) => r.metric))];
  const latest = await metrics.latest({ names });
  const byMetric = new Map<string, { labels: Record<string, string>; value: number; at: Date }[]>();
  for (const s of latest) {
    if (s.timestamp < freshSince) continue;
    const list = byMetric.get(s.name) ?? [];
    list.push({ labels: s.labels, value: s.value, at: s.timestamp });
    byMetric.set(s.name, list);
  }
  const out: RuleSample[] = [];
  for (const r of rules) {
    for (const s of byMetric.get(r.metric) ?? []) if (matches(r.labels, s.labels)) out.push({ ruleId: r.id, labels: s.labels, value: Number(s.value), at: s.at });
  }
  return out;
}
