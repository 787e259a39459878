import { Field, Int } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';

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
