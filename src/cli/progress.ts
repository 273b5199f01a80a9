/**
 * A one-line progress bar on stderr: steps done, steps/s, recent mean return and time left. On a
 * terminal it redraws in place; in a log (not a TTY) it prints a line at every tenth of the run.
 */
export interface ProgressUpdate {
  steps: number;
  meanReturn: number | null;
  extra?: string;
}

export class ProgressBar {
  private readonly started = performance.now();
  private readonly startSteps: number;
  private lastDecile = -1;

  constructor(
    private readonly total: number,
    startSteps = 0,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
    /** What is counted, e.g. 'real steps' (the rate shows as '<unit>/s'). */
    private readonly unit = 'steps',
  ) {
    this.startSteps = startSteps;
  }

  update({ steps, meanReturn, extra }: ProgressUpdate): void {
    if (!this.enabled) return;
    const fraction = Math.min(1, steps / this.total);
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? (steps - this.startSteps) / seconds : 0;
    const left = rate > 0 ? (this.total - steps) / rate : Number.NaN;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}`;
    const line =
      `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatCount(steps)}/${formatCount(this.total)} ${this.unit}` +
      ` | ${formatCount(rate)} ${this.unit}/s | return ${meanReturn === null ? '-' : meanReturn.toFixed(1)}` +
      ` | ${formatDuration(seconds)} elapsed, ${formatDuration(left)} left${extra ? ` | ${extra}` : ''}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${line}\n`);
      }
    }
  }

  finish(): void {
    if (this.enabled && this.stream.isTTY) this.stream.write('\n');
  }
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
