// PyTorch on one thread as a benchmark contender: a long-lived python child (a bench's script served by
// bench/torch_child.py, whose docstring has the protocol) that takes timed turns when asked, so its turns
// alternate with ours under the same machine load (see paired.ts). Found where /usr/bin/python3 or the
// python3 on PATH can import torch; a bench without one skips PyTorch and says so (`TORCH_SKIPPED`).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const TORCH_SKIPPED =
  'PyTorch SKIPPED: no python3 that can import torch (apt-get install python3-torch libopenblas0-pthread)';

export interface TorchTurn {
  calls: number;
  ms: number;
  /** CPU time the child used in the turn. */
  cpuMs: number;
  /** The last call's return value (a loss). */
  loss: number;
}

/** The first of Debian's python3 and the python3 on PATH that can import torch, or null. */
export function findTorchPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return null;
}

export class TorchChild {
  private readonly child;
  private readonly lines: AsyncIterator<string>;

  private constructor(
    readonly python: string,
    script: string,
  ) {
    // One thread everywhere: OpenMP, MKL and OpenBLAS (Debian's python3-torch calls OpenBLAS through its own
    // pool); -B: no __pycache__ beside the scripts.
    const env = { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
    this.child = spawn(python, ['-B', script], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** The BLAS torch runs on (its build's BLAS_INFO, the libblas alternative, the libraries mapped). */
  blas: unknown = null;

  /**
   * Starts bench/`script` under a python with torch and waits for it to be ready; null (after printing
   * TORCH_SKIPPED) where there is none.
   */
  static async start(script: string): Promise<TorchChild | null> {
    const python = findTorchPython();
    if (!python) {
      console.log(TORCH_SKIPPED);
      return null;
    }
    const worker = new TorchChild(python, join(dirname(fileURLToPath(import.meta.url)), script));
    const hello = await worker.receive<{ ready: boolean; blas: unknown }>();
    worker.blas = hello.blas;
    console.log(`PyTorch (${python}), one thread: ${JSON.stringify(hello.blas)}`);
    return worker;
  }

  private async receive<T>(): Promise<T> {
    const next = await this.lines.next();
    if (next.done) throw new Error('the PyTorch child exited');
    return JSON.parse(next.value) as T;
  }

  private request<T>(message: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    return this.receive<T>();
  }

  /** Builds the cases of `problem` (the script's `prepare`); returns their names and the script's notes. */
  prepare(problem: object): Promise<{ prepared: string[]; notes: Record<string, unknown> }> {
    return this.request({ prepare: problem });
  }

  /** Runs case `name` for at least `turnMs` (0: exactly one call). */
  async turn(name: string, turnMs: number): Promise<TorchTurn> {
    const turn = await this.request<TorchTurn & { cpu_ms: number }>({ case: name, turn_ms: turnMs });
    return { calls: turn.calls, ms: turn.ms, cpuMs: turn.cpu_ms, loss: turn.loss };
  }

  close(): void {
    this.child.stdin.write(`${JSON.stringify({ quit: true })}\n`);
    this.child.stdin.end();
  }
}
