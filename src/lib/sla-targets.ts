/** Uptime targets by tier (percent), used when a group sets none of its own. */
export const TIER_TARGETS = { critical: 99.95, high: 99.9, standard: 99.5, low: 99.0 } as const;
export type Tier = keyof typeof TIER_TARGETS;
export const TIERS = Object.keys(TIER_TARGETS) as Tier[];

export function targetUptime(group: { targetUptime: number | null; tier: string }): number {
  return group.targetUptime ?? TIER_TARGETS[group.tier as Tier] ?? TIER_TARGETS.standard;
}
