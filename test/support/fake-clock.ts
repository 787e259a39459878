import type { Clock } from '../../src/infra/clock.js';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start: Date | string = '2026-02-07T14:05:30.123Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
