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
  // Per metric: its fresh series, and which of them carry each label pair, so a rule is checked
  // against the series of its first matcher only (not every series of the metric).
  type Series = { labels: Record<string, string>; value: number; at: Date };
  const byMetric = new Map<string, { all: Series[]; byPair: Map<string, Series[]> }>();
  for (const s of latest) {
    if (s.timestamp < freshSince) continue;
    let m = byMetric.get(s.name);
    if (!m) byMetric.set(s.name, (m = { all: [], byPair: new Map() }));
    const series = { labels: s.labels, value: Number(s.value), at: s.timestamp };
    m.all.push(series);
    for (const [k, v] of Object.entries(s.labels)) {
      const pair = `${k}\u0000${v}`;
      const list = m.byPair.get(pair);
      if (list) list.push(series);
      else m.byPair.set(pair, [series]);
    }
  }
  const out: RuleSample[] = [];
  for (const r of rules) {
    const m = byMetric.get(r.metric);
    if (!m) continue;
    const first = Object.entries(r.labels)[0];
    const candidates = first ? (m.byPair.get(`${first[0]}\u0000${first[1]}`) ?? []) : m.all;
    for (const s of candidates) if (matches(r.labels, s.labels)) out.push({ ruleId: r.id, labels: s.labels, value: s.value, at: s.at });
  }
  return out;
}
