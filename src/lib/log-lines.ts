/**
 * Line capture for the output of child processes: chunks become lines, lines are capped in length
 * and in number, and what was left out is counted, so a chatty or hostile program cannot grow a
 * run's log without bound.
 */

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

export interface LogLine {
  level: LogLevel;
  message: string;
  /** The step that printed it, or the runner's own line about that step. */
  step?: string;
  at: string;
}

/** Longest line kept; the rest of a longer line is cut and marked. */
export const MAX_LINE_CHARS = 4_000;

export interface LogCollector {
  /** A line printed by a step (stdout INFO, stderr WARN): counts against the cap. */
  output(level: LogLevel, message: string, step: string): void;
  /** A line of the runner about a step (started, exited, killed): always kept, so the outcome is never cut. */
  note(level: LogLevel, message: string, step?: string): void;
  /** The lines kept, followed by a truncation note when output lines were left out. */
  lines(): LogLine[];
  dropped(): number;
}

export function createLogCollector(maxOutputLines: number, now: () => Date): LogCollector {
  const kept: LogLine[] = [];
  let outputs = 0;
  let dropped = 0;
  const clip = (s: string) => (s.length > MAX_LINE_CHARS ? `${s.slice(0, MAX_LINE_CHARS)} [line cut at ${MAX_LINE_CHARS} characters]` : s);
  return {
    output(level, message, step) {
      if (outputs >= maxOutputLines) {
        dropped++;
        return;
      }
      outputs++;
      kept.push({ level, message: clip(message), step, at: now().toISOString() });
    },
    note(level, message, step) {
      kept.push({ level, message: clip(message), ...(step === undefined ? {} : { step }), at: now().toISOString() });
    },
    lines() {
      if (!dropped) return [...kept];
      return [...kept, { level: 'WARN', message: `log truncated: ${dropped} more output line(s) not kept (at most ${maxOutputLines} per run)`, at: now().toISOString() }];
    },
    dropped: () => dropped,
  };
}

/**
 * Splits a byte stream into lines as it arrives: a line may span chunks, `\r\n` and `\n` both end
 * one, and the unfinished last line is handed over by `end()`. A line longer than `maxChars` is
 * handed over in pieces rather than buffered whole.
 */
export function createLineSplitter(onLine: (line: string) => void, maxChars = MAX_LINE_CHARS) {
  let pending = '';
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const flushLong = () => {
    while (pending.length > maxChars) {
      onLine(pending.slice(0, maxChars));
      pending = pending.slice(maxChars);
    }
  };
  return {
    push(chunk: Uint8Array): void {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      flushLong();
    },
    end(): void {
      pending += decoder.decode();
      if (pending) onLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
      pending = '';
    },
  };
}
