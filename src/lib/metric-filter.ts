import picomatch from 'picomatch';

/** What a live subscriber of metrics asks for: both lists optional, both must match when given. */
export interface MetricFilter {
  collectors?: readonly string[] | null;
  /** Metric names, exact or as globs (`system.*`, `api.request*`, `{system,process}.memory.*`). */
  names?: readonly string[] | null;
}

export interface SampleIdentity {
  name: string;
  collector: string;
}

/**
 * Compiles a filter once, so matching a sample is a set lookup or a precompiled regex, whatever the
 * rate of samples. An empty or absent list matches everything.
 */
export function metricMatcher(filter: MetricFilter): (sample: SampleIdentity) => boolean {
  const collectors = filter.collectors?.length ? new Set(filter.collectors) : undefined;
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const n of filter.names ?? []) {
    if (picomatch.scan(n).isGlob) globs.push(n);
    else exact.add(n);
  }
  const glob = globs.length ? picomatch(globs) : undefined;
  const anyName = !filter.names?.length;
  return (s) => (!collectors || collectors.has(s.collector)) && (anyName || exact.has(s.name) || (glob?.(s.name) ?? false));
}
