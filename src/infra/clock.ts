/** Time as a dependency: services ask the clock, tests move a fake one instead of sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = {
  now: () => new Date(),
};
