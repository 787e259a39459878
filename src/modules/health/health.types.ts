import { Field, Int } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';

@OutputType('DependencyFallback', { description: 'How often this instance did without a dependency, of one kind, since it started.' })
export class DependencyFallbackType {
  @Field({
    description:
      '`rateLimit` (requests let through uncounted), `securitySampling` and `apiKeyUse` (decided in this process only), `eventPublish` (events perhaps not delivered).',
  })
  name!: string;

  @Field(() => Int, { description: 'At most 2^31 - 1.' })
  count!: number;
}

@OutputType('DependencyCheck', { description: 'One dependency as seen by the readiness probe.' })
export class DependencyCheckType {
  @Field({ description: '`postgres` or `redis`.' })
  name!: string;

  @Field()
  ok!: boolean;

  @Field(() => Int)
  latencyMs!: number;

  @Field(() => String, { nullable: true, description: 'Why the check failed: timeout or unreachable (details are in the server log).' })
  error?: string;

  @Field(() => [DependencyFallbackType], { description: 'What this instance did without the dependency since it started (Redis only; empty for PostgreSQL).' })
  fallbacks!: DependencyFallbackType[];
}

@OutputType('Readiness', { description: 'Whether this instance can serve: the same answer as `GET /readyz`.' })
export class ReadinessType {
  @Field()
  ready!: boolean;

  @Field()
  checkedAt!: Date;

  @Field(() => [DependencyCheckType])
  checks!: DependencyCheckType[];
}
