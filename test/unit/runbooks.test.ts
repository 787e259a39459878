import { describe, expect, it } from 'vitest';
import { createLineSplitter, createLogCollector, MAX_LINE_CHARS } from '../../src/lib/log-lines.js';
import { coverageRatio } from '../../src/lib/ops-console.js';
import { parseRunbooks, RunbookFileError } from '../../src/modules/runbooks/runbooks.definitions.js';
import { requestEnvironment, stateChange } from '../../src/modules/runbooks/runbooks.service.js';

const at = () => new Date('2026-12-01T00:00:00.000Z');

describe('log lines', () => {
  it('splits chunks into lines across chunk boundaries, CRLF included, and hands over the unfinished last line', () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l));
    s.push(Buffer.from('one\r\ntw'));
    s.push(Buffer.from('o\nthr'));
    s.push(Buffer.from([0xc3])); // half of "é"
    s.push(Buffer.from([0xa9]));
    s.end();
    expect(lines).toEqual(['one', 'two', 'thré']);
  });

  it('hands a line longer than the limit over in pieces instead of buffering it', () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l), 4);
    s.push(Buffer.from('abcdefghij'));
    expect(lines).toEqual(['abcd', 'efgh']);
  });

  it('caps output lines per run, keeps the runner notes, and says how many were left out', () => {
    const c = createLogCollector(2, at);
    for (const m of ['a', 'b', 'c', 'd']) c.output('INFO', m, 's');
    c.note('ERROR', 'step s exited with 1', 's');
    const lines = c.lines();
    expect(lines.map((l) => l.message)).toEqual(['a', 'b', 'step s exited with 1', 'log truncated: 2 more output line(s) not kept (at most 2 per run)']);
    expect(c.dropped()).toBe(2);
    const long = createLogCollector(5, at);
    long.output('WARN', 'x'.repeat(MAX_LINE_CHARS + 10), 's');
    expect(long.lines()[0]!.message).toMatch(/\[line cut at 4000 characters\]$/);
  });
});

describe('ops console arithmetic', () => {
  it('computes coverage without the services in maintenance, null when nothing is expected', () => {
    expect(coverageRatio({ expected: 1280, active: 1278, matched: 1276, ignored: 2 })).toBe(0.998435);
    expect(coverageRatio({ expected: 2, active: 2, matched: 0, ignored: 2 })).toBeNull();
    expect(coverageRatio({ expected: 0, active: 0, matched: 0, ignored: 0 })).toBeNull();
  });
});

describe('runbooks file', () => {
  it('reads runbooks with their defaults and always has the built-in health_check', () => {
    const set = parseRunbooks('runbooks:\n  failover:\n    timeout_seconds: 30\n    steps:\n      - name: p\n        run: ["/bin/echo", "x"]\n        timeout_seconds: 60\n', '/etc/opsgraph/r.yaml');
    expect(set.get('failover')).toMatchObject({ timeoutSeconds: 30, requiresEnforce: false, cwd: '/etc/opsgraph', steps: [{ name: 'p', argv: ['/bin/echo', 'x'], timeoutSeconds: 30, continueOnError: false }] });
    expect(set.get('health_check')).toMatchObject({ builtIn: true, steps: [] });
  });

  it.each([
    ['runbooks:\n  start:\n    steps:\n      - name: a\n        run: ["./deploy.sh"]\n', 'r.yaml: line 5, column 15: runbooks.start.steps[0].run[0]: the program must be an absolute path or a bare name found in PATH'],
    ['runbooks:\n  start:\n    steps:\n      - name: a\n        run: ["echo"]\n        shell: true\n', 'r.yaml: line 6, column 9: runbooks.start.steps[0].shell: unknown key'],
    ['runbooks:\n  start:\n    steps:\n      - name: a\n        run: ["echo"]\n      - name: a\n        run: ["echo"]\n', 'r.yaml: line 6, column 15: runbooks.start.steps[1].name: step name a is used twice'],
    ['runbooks:\n  start:\n    env: { OPSGRAPH_MODE: x }\n    steps: [{ name: a, run: [echo] }]\n', 'r.yaml: line 3, column 12: runbooks.start.env.OPSGRAPH_MODE: OPSGRAPH_* is set by the runner'],
    ['runbooks:\n  start: [\n', 'r.yaml: line 3, column 1:'],
  ])('refuses a bad file naming the line and the key (%#)', (text, message) => {
    expect(() => parseRunbooks(text, 'r.yaml')).toThrow(RunbookFileError);
    expect(() => parseRunbooks(text, 'r.yaml')).toThrow(message);
  });
});

describe('what a run changes', () => {
  const fields = { mode: 'live', window: 'night', profile: 'p', config: 'c', reason: null, enforce: false };
  it('moves the profile on a successful failover and failback only, and never on a dry run', () => {
    expect(stateChange({ command: 'failover', dryRun: false, fields }, { status: 'success', exitCode: 0 })).toEqual({ environmentMode: 'live', activeWindow: 'night', activeProfile: 'c', exitCode: 0 });
    expect(stateChange({ command: 'failover', dryRun: false, fields: { ...fields, config: null, profile: null } }, { status: 'success', exitCode: 0 })!.activeProfile).toBe('backup');
    expect(stateChange({ command: 'failback', dryRun: false, fields }, { status: 'success', exitCode: 0 })!.activeProfile).toBe('primary');
    expect(stateChange({ command: 'failover', dryRun: false, fields }, { status: 'failed', exitCode: 2 })).toEqual({ environmentMode: null, activeWindow: null, activeProfile: null, exitCode: 2 });
    expect(stateChange({ command: 'failover', dryRun: true, fields }, { status: 'dry_run', exitCode: 0 })).toBeNull();
  });

  it('hands the steps the request fields as OPSGRAPH_* variables only', () => {
    expect(requestEnvironment({ requestId: 'r1', command: 'drill', fields: { ...fields, enforce: true } })).toEqual({
      OPSGRAPH_REQUEST_ID: 'r1',
      OPSGRAPH_COMMAND: 'drill',
      OPSGRAPH_MODE: 'live',
      OPSGRAPH_WINDOW: 'night',
      OPSGRAPH_PROFILE: 'p',
      OPSGRAPH_CONFIG: 'c',
      OPSGRAPH_REASON: '',
      OPSGRAPH_ENFORCE: 'true',
    });
  });
});
