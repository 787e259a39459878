import { Field, Float } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { OutputType } from '../../graphql/output-type.js';

@OutputType('MetricUpdate', { description: 'One sample the metrics store accepted, as it arrives live.' })
export class MetricUpdateType {
  @Field()
  name!: string;

  @Field(() => Float)
  value!: number;

  @Field()
  timestamp!: Date;

  @Field(() => GraphQLJSONObject, { description: 'The label set of the series: `{ "<key>": "<value>" }`.' })
  labels!: Record<string, string>;

  @Field({ description: 'The collector that produced it; `custom` for pushed samples.' })
  collector!: string;
}
