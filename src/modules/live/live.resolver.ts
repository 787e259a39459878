import { Arg, Authorized, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { flatMapIterator } from '../../lib/async-iter.js';
import { AppError } from '../../lib/errors.js';
import { metricMatcher } from '../../lib/metric-filter.js';
import { METRIC_SAMPLED, type SampledMetric } from '../metrics/metrics.events.js';
import { METRIC_FILTER_LIMITS, metricSamples } from './live.channels.js';
import { MetricUpdateType } from './live.types.js';

/** The bounds `/ws` applies to the same filter (live.channels.ts), as GraphQL input errors. */
function checkList(field: 'collectors' | 'names', values: readonly string[] | null | undefined, maxLength: number): void {
  if (!values) return;
  if (values.length > METRIC_FILTER_LIMITS.entries) throw new AppError('BAD_USER_INPUT', `${field}: at most ${METRIC_FILTER_LIMITS.entries} entries`, { field });
  const i = values.findIndex((v) => v.length < 1 || v.length > maxLength);
  if (i >= 0) throw new AppError('BAD_USER_INPUT', `${field}[${i}]: 1 to ${maxLength} characters`, { field: `${field}[${i}]` });
}

@Resolver()
export class LiveResolver {
  @Authorized('VIEWER')
  @Subscription(() => MetricUpdateType, {
    description:
      'Each sample the metrics store accepts, on any instance, one message per sample: only those of the listed `collectors` and `names` (exact names or globs such as `system.*`) when given.',
    subscribe: ({ args, context }) => {
      const { collectors, names } = args as { collectors?: string[] | null; names?: string[] | null };
      checkList('collectors', collectors, METRIC_FILTER_LIMITS.collectorLength);
      checkList('names', names, METRIC_FILTER_LIMITS.nameLength);
      const match = metricMatcher({ collectors, names });
      const events = (context as GraphQLContext).events.subscribe([METRIC_SAMPLED])[Symbol.asyncIterator]();
      // Filtered here, on the server: a subscriber of one metric is not sent the whole stream.
      return flatMapIterator(events, (event) => metricSamples(event).filter(match));
    },
  })
  metricUpdated(
    @Root() sample: SampledMetric,
    @Arg('collectors', () => [String], { nullable: true }) _collectors?: string[] | null,
    @Arg('names', () => [String], { nullable: true }) _names?: string[] | null,
  ): MetricUpdateType {
    return sample;
  }
}
