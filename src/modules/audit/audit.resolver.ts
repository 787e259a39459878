import { Arg, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import type { AuditEntryRecord, AuditService } from './audit.service.js';
import { AuditChainVerificationType, AuditEntryPage, AuditLogFilter } from './audit.types.js';

export interface AuditServices {
  audit: AuditService;
  /** The one check in front of every read of the log, GraphQL and REST alike (see audit.module.ts). */
  assertReadable: () => Promise<void>;
}

@Resolver()
export class AuditResolver {
  private readonly s: AuditServices;

  constructor(services: AuditServices) {
    this.s = services;
  }

  @Authorized('ADMIN')
  @Query(() => AuditEntryPage, { description: 'Who changed what, newest first (sort: seq or at).' })
  async auditLog(
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter?: AuditLogFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<AuditEntryRecord>> {
    await this.s.assertReadable();
    return this.s.audit.list(filter, page);
  }

  @Authorized('ADMIN')
  @Mutation(() => AuditChainVerificationType, { description: 'Recomputes the hash chain and names the first entry that was changed or removed.' })
  async verifyAuditChain(): Promise<AuditChainVerificationType> {
    await this.s.assertReadable();
    return this.s.audit.verify();
  }
}
