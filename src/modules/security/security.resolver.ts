import { Arg, Authorized, Query, Resolver } from 'type-graphql';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import type { SecurityService } from './security.service.js';
import { SecurityEventFilter, SecurityEventPage, type SecurityEventType } from './security.types.js';

@Resolver()
export class SecurityResolver {
  private readonly security: SecurityService;

  constructor(services: { security: SecurityService }) {
    this.security = services.security;
  }

  @Authorized('ADMIN')
  @Query(() => SecurityEventPage, { description: 'Failed logins, lockouts, token reuse, rejected keys and rate-limit hits, newest first.' })
  securityEvents(
    @Arg('filter', () => SecurityEventFilter, { nullable: true }) filter?: SecurityEventFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<SecurityEventType>> {
    return this.security.list(filter, page);
  }
}
