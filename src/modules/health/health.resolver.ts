import { Authorized, Query, Resolver } from 'type-graphql';
import type { HealthService } from './health.service.js';
import { ReadinessType } from './health.types.js';

@Resolver()
export class HealthResolver {
  private readonly health: HealthService;

  constructor(services: { health: HealthService }) {
    this.health = services.health;
  }

  // As open as GET /readyz, which says the same.
  @Authorized('PUBLIC')
  @Query(() => ReadinessType, { description: 'Readiness of this instance (PostgreSQL and Redis reachable).' })
  readiness(): Promise<ReadinessType> {
    return this.health.readiness();
  }
}
