/**
 * The one error table. A service throws `AppError(code, message, details)`;
 * the GraphQL formatter and the REST error handler both translate it through
 * `errorTable`, so a code means the same thing on every transport.
 *
 * Over GraphQL an operation that produced no data answers with the code's `http` status when
 * `graphqlHttp` is set: the codes that say who may ask and whether the server can answer
 * (401, 403 for a role or a license, 429, 503), as REST does. Input and state errors
 * (400, 404, 409, 422) keep 200 there, as GraphQL over HTTP has them: the request itself was
 * well formed and executed, and the errors say what was wrong with it.
 */
export const errorTable = {
  /** Input that fails parsing or validation; `details.field` names the culprit. */
  BAD_USER_INPUT: { http: 400, rest: 'ERR_1001', graphql: 'BAD_USER_INPUT' },
  /** Well-formed input that breaks a domain rule (seed 000's 422). */
  VALIDATION_FAILED: { http: 422, rest: 'ERR_1006', graphql: 'BAD_USER_INPUT' },
  /** No credential, or one that is invalid or expired. */
  UNAUTHENTICATED: { http: 401, rest: 'ERR_1003', graphql: 'UNAUTHENTICATED', graphqlHttp: true },
  /** A valid caller without the role or binding the operation needs. */
  FORBIDDEN: { http: 403, rest: 'ERR_1004', graphql: 'FORBIDDEN', graphqlHttp: true },
  /** The operation belongs to a plugin the active license does not include; `details.plugin` names it. */
  LICENSE_REQUIRED: { http: 403, rest: 'ERR_1004', graphql: 'LICENSE_REQUIRED', graphqlHttp: true },
  /** A limit of the active license (`details.limit`, e.g. maxServices) would be exceeded; nothing was written. */
  LICENSE_LIMIT: { http: 403, rest: 'ERR_1004', graphql: 'LICENSE_LIMIT' },
  NOT_FOUND: { http: 404, rest: 'ERR_1002', graphql: 'NOT_FOUND' },
  /** A uniqueness or state conflict (duplicate name, operation not valid in the current state). */
  CONFLICT: { http: 409, rest: 'ERR_1005', graphql: 'CONFLICT' },
  /** A body sent as something other than JSON (e.g. `curl -d` without a JSON content type). */
  UNSUPPORTED_MEDIA_TYPE: { http: 415, rest: 'ERR_UNSUPPORTED_MEDIA_TYPE', graphql: 'BAD_USER_INPUT' },
  /** The request's headers are larger than the server reads (Node's maxHeaderSize). */
  HEADERS_TOO_LARGE: { http: 431, rest: 'ERR_HEADERS_TOO_LARGE', graphql: 'BAD_USER_INPUT' },
  PAYLOAD_TOO_LARGE: { http: 413, rest: 'ERR_PAYLOAD_TOO_LARGE', graphql: 'BAD_USER_INPUT' },
  /** A well-formed alert rule that cannot be created or changed as asked (seed 000's ERR_5001); `details.field` names why. */
  ALERT_RULE_FAILED: { http: 422, rest: 'ERR_5001', graphql: 'BAD_USER_INPUT' },
  RATE_LIMITED: { http: 429, rest: 'ERR_RATE_LIMIT', graphql: 'RATE_LIMITED', graphqlHttp: true },
  /** A dependency (PostgreSQL, Redis) is down; `details.dependency` names it. */
  SERVICE_UNAVAILABLE: { http: 503, rest: 'ERR_UNAVAILABLE', graphql: 'SERVICE_UNAVAILABLE', graphqlHttp: true },
  /**
   * Something the caller asked for ran but could not complete (a runbook step timed out, its
   * program is missing): a 500 that says what happened, unlike INTERNAL, which is masked.
   */
  EXECUTION_FAILED: { http: 500, rest: 'ERR_EXECUTION', graphql: 'EXECUTION_FAILED' },
  /** A metrics query too broad to answer (too many raw samples, cancelled by the statement timeout): ask a coarser tier (seed 000's ERR_4001). */
  METRICS_QUERY_FAILED: { http: 422, rest: 'ERR_4001', graphql: 'BAD_USER_INPUT' },
  /** A collector's change could not be put in force (its schedule lives in Redis); nothing was changed (seed 000's ERR_4002). */
  COLLECTOR_FAILED: { http: 503, rest: 'ERR_4002', graphql: 'SERVICE_UNAVAILABLE' },
  /** A backup run failed (seed 000's ERR_2001); the message says why, `details.id` names the record. */
  BACKUP_CREATION_FAILED: { http: 500, rest: 'ERR_2001', graphql: 'BACKUP_CREATION_FAILED' },
  /** A restore could not be carried out (seed 000's ERR_2002). */
  BACKUP_RESTORE_FAILED: { http: 500, rest: 'ERR_2002', graphql: 'BACKUP_RESTORE_FAILED' },
  /** A backup failed verification (seed 000's ERR_2003): the request was fine, the archive is not. */
  BACKUP_VERIFICATION_FAILED: { http: 422, rest: 'ERR_2003', graphql: 'BACKUP_VERIFICATION_FAILED' },
  /** Anything unexpected: logged with the request id, answered masked. */
  INTERNAL: { http: 500, rest: 'ERR_INTERNAL', graphql: 'INTERNAL_SERVER_ERROR' },
} as const satisfies Record<string, { http: number; rest: string; graphql: string; graphqlHttp?: true }>;

export type ErrorCode = keyof typeof errorTable;

/** GraphQL `extensions.code` → the HTTP status of an operation that failed whole with it (see above). */
export const graphqlHttpStatus: Readonly<Record<string, number>> = Object.fromEntries(
  Object.values(errorTable).flatMap((e) => ('graphqlHttp' in e ? [[e.graphql, e.http]] : [])),
);

export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get http(): number {
    return errorTable[this.code].http;
  }
}

export const MASKED_MESSAGE = 'Internal server error';
