import { IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { RUNBOOK_COMMANDS } from './runbooks.definitions.js';
import { RUN_STATUSES } from './runbooks.events.js';
import { CONSOLE_TOKEN, REASON_MAX, REQUEST_ID } from './runbooks.routes.js';

@OutputType('RunbookStep')
export class RunbookStepType {
  @Field() name!: string;
  @Field(() => [String], { description: 'The argv, run without a shell.' }) run!: string[];
  @Field(() => Int) timeoutSeconds!: number;
  @Field() continueOnError!: boolean;
}

@OutputType('Runbook', { description: 'A runbook as declared in RUNBOOKS_FILE (health_check is built in).' })
export class RunbookType {
  @Field({ description: `One of: ${RUNBOOK_COMMANDS.join(', ')}.` }) command!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Int) timeoutSeconds!: number;
  @Field() requiresEnforce!: boolean;
  @Field({ description: 'Runs alone in the deployment (every command but health_check).' }) mutating!: boolean;
  @Field({ description: 'The built-in health_check, with no steps of the file.' }) builtIn!: boolean;
  @Field(() => [RunbookStepType]) steps!: RunbookStepType[];
}

@OutputType('RunbookLogLine')
export class RunbookLogLineType {
  @Field({ description: 'INFO (stdout and progress), WARN (stderr), ERROR (the runner: failures, kills).' }) level!: string;
  @Field() message!: string;
  @Field(() => String, { nullable: true }) step!: string | null;
  @Field() at!: Date;
}

@OutputType('RunbookHealthCheck')
export class RunbookHealthCheckType {
  @Field() name!: string;
  @Field({ description: 'pass or fail' }) status!: string;
  @Field(() => Int) latencyMs!: number;
  @Field(() => String, { nullable: true }) detail!: string | null;
}

@OutputType('RunbookHealth', { description: "A health_check's result: fleet coverage and the checks." })
export class RunbookHealthType {
  @Field(() => Float, { nullable: true, description: 'matched / (expected - ignored); null when nothing is expected.' }) coverageRatio!: number | null;
  @Field(() => Int) expectedTotal!: number;
  @Field(() => Int) activeTotal!: number;
  @Field(() => Int) matchedTotal!: number;
  @Field(() => Int) ignoredTotal!: number;
  @Field() generatedAt!: Date;
  @Field(() => [RunbookHealthCheckType]) checks!: RunbookHealthCheckType[];
}

@OutputType('RunbookActor')
export class RunbookActorType {
  @Field({ description: 'USER, API_KEY or SYSTEM' }) type!: string;
  @Field(() => ID, { nullable: true }) id!: string | null;
}

@OutputType('RunbookRun')
export class RunbookRunType {
  @Field(() => ID) id!: string;
  @Field() requestId!: string;
  @Field() command!: string;
  @Field({ description: `One of: ${RUN_STATUSES.join(', ')}.` }) status!: string;
  @Field(() => Int, { nullable: true }) exitCode!: number | null;
  @Field() dryRun!: boolean;
  @Field(() => String, { nullable: true, description: 'Why the run could not be executed (timeout, missing program, no worker).' }) detail!: string | null;
  @Field(() => String, { nullable: true }) mode!: string | null;
  @Field(() => String, { nullable: true }) window!: string | null;
  @Field(() => String, { nullable: true }) profile!: string | null;
  @Field(() => String, { nullable: true }) config!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field() enforce!: boolean;
  @Field(() => RunbookActorType) requestedBy!: RunbookActorType;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
  @Field(() => [RunbookLogLineType], { description: 'Empty in runbookRuns and opsStatus.runbookHistory.' }) logs!: RunbookLogLineType[];
  @Field(() => RunbookHealthType, { nullable: true }) health!: RunbookHealthType | null;
}

export const RunbookRunPage = Paginated(RunbookRunType, 'RunbookRunPage');

@OutputType('RunbookExecution')
export class RunbookExecutionType {
  @Field(() => RunbookRunType) runbook!: RunbookRunType;
  @Field(() => RunbookHealthType, { nullable: true, description: 'The health block of a health_check run.' }) health!: RunbookHealthType | null;
}

@OutputType('RunbookHealthByRequest')
export class RunbookHealthByRequestType {
  @Field() requestId!: string;
  @Field(() => RunbookHealthType) health!: RunbookHealthType;
}

@OutputType('RunbookExitCode')
export class RunbookExitCodeType {
  @Field() command!: string;
  @Field(() => Int) exitCode!: number;
}

@OutputType('OpsStatus')
export class OpsStatusType {
  @Field() environmentMode!: string;
  @Field() activeProfile!: string;
  @Field() activeWindow!: string;
  @Field(() => RunbookRunType, { nullable: true, description: 'The newest run that was not a dry run, with its logs.' }) lastRunbook!: RunbookRunType | null;
  @Field(() => [RunbookRunType], { description: 'Newest first, at most 20, dry runs included, without logs.' }) runbookHistory!: RunbookRunType[];
  @Field(() => [RunbookHealthByRequestType]) healthByRequest!: RunbookHealthByRequestType[];
  @Field(() => RunbookHealthType, { nullable: true }) lastHealth!: RunbookHealthType | null;
  @Field(() => [RunbookExitCodeType]) lastExitCodes!: RunbookExitCodeType[];
  @Field(() => Date, { nullable: true }) lastUpdatedAt!: Date | null;
}

@InputType()
export class RunbookRunFilter {
  @Field(() => String, { nullable: true }) command?: string | null;
  @Field(() => String, { nullable: true, description: `One of: ${RUN_STATUSES.join(', ')}.` }) status?: string | null;
  @Field(() => Boolean, { nullable: true }) dryRun?: boolean | null;
  @Field(() => Date, { nullable: true, description: 'Runs asked for at or after this instant.' }) since?: Date | null;
}

const TOKEN_MESSAGE = 'letters, digits and _ . : @ / -, at most 100';

@InputType({ description: 'The fields of POST /api/ops/runbooks/execute, in camelCase.' })
export class ExecuteRunbookInput {
  @Field({ description: `One of: ${RUNBOOK_COMMANDS.join(', ')}.` }) @MaxLength(50) command!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @Matches(CONSOLE_TOKEN, { message: TOKEN_MESSAGE }) mode?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Matches(CONSOLE_TOKEN, { message: TOKEN_MESSAGE }) window?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Matches(CONSOLE_TOKEN, { message: TOKEN_MESSAGE }) profile?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Matches(CONSOLE_TOKEN, { message: TOKEN_MESSAGE }) config?: string | null;
  @Field(() => String, { nullable: true, description: 'Idempotency key (default: a new UUID).' })
  @IsOptional()
  @Matches(REQUEST_ID, { message: 'letters, digits and _ . : -, at most 100' })
  requestId?: string | null;
  @Field(() => Boolean, { nullable: true }) enforce?: boolean | null;
  @Field(() => Boolean, { nullable: true }) dryRun?: boolean | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(REASON_MAX) reason?: string | null;
}
