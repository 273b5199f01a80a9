// A VectorEnv (contract in vector.ts) whose copies are stepped in worker threads, one slice per worker,
// so that stepping uses every core. Results are written by the workers straight into SharedArrayBuffers;
// the main thread blocks in Atomics.wait until each worker is done, so reset/step stay synchronous.

import type { MessagePort, Worker } from 'node:worker_threads';
import { nodeBuiltin } from '../node-builtins/index.ts';
import { startModuleWorker } from '../node-builtins/module-worker.ts';
import { CONTINUOUS_ACTION_SIZE, OBSERVATION_SIZE } from './constants.ts';
import { LunarLander, landerActionSpace } from './lunar-lander.ts';
import { resolveOptions } from './options.ts';
import type { Box, Discrete } from './spaces.ts';
import {
  clipUnitActions,
  resetSlice,
  stepSlice,
  type VectorEnv,
  type VectorEnvOptions,
  type VectorResetResult,
  type VectorStepResult,
  validateNumEnvs,
  validateSeed,
  validateVectorActions,
} from './vector.ts';
import {
  allocateSharedMemory,
  COMMAND_CLOSE,
  COMMAND_RESET,
  COMMAND_STEP,
  CONTROL_COMMAND,
  CONTROL_HAS_SEED,
  doneSlot,
  failedSlot,
  requestSlot,
  type SharedVectorMemory,
  type WorkerInit,
  waitWhileEqual,
} from './worker-protocol.ts';

/** Node's modules for worker threads, looked up on use so the env layer bundles for a browser. */
const ELSEWHERE = 'elsewhere, SyncVectorEnv steps every copy in one thread';

function node<Name extends Parameters<typeof nodeBuiltin>[0]>(name: Name) {
  return nodeBuiltin(name, 'WorkerVectorEnv', ELSEWHERE);
}

export interface WorkerVectorEnvOptions extends VectorEnvOptions {
  /** Threads that step copies, the main thread included when `mainThreadShare`; default min(cores, numEnvs). */
  numThreads?: number;
  /**
   * The main thread steps one slice itself while the workers step theirs (default true). On few cores this
   * beats leaving it idle in Atomics.wait: one thread fewer to wake, and no core left unused.
   */
  mainThreadShare?: boolean;
  /** How long a step may take before the env gives up on a worker, in ms. Default 60 000. */
  timeoutMs?: number;
}

/** A worker thread stepping a slice of the copies (TypeScript through tsx where the engine runs as source). */
function startWorker(workerData: unknown, transferList: MessagePort[]): Worker {
  const isTypeScript = import.meta.url.endsWith('.ts');
  const url = new URL(isTypeScript ? './vector-worker.ts' : './vector-worker.js', import.meta.url);
  return startModuleWorker(url, { workerData, transferList }, 'WorkerVectorEnv', ELSEWHERE);
}

export class WorkerVectorEnv implements VectorEnv {
  readonly numEnvs: number;
  readonly observationSize = OBSERVATION_SIZE;
  readonly actionSpace: Box | Discrete;
  readonly numWorkers: number;
  readonly numThreads: number;
  private readonly continuous: boolean;
  /** The main thread's slice, copies [0, localEnvs.length); empty unless mainThreadShare. */
  private readonly localEnvs: LunarLander[] = [];
  private readonly memory: SharedVectorMemory;
  private readonly workers: Worker[];
  private readonly errorPorts: MessagePort[];
  private readonly timeoutMs: number;
  /** Clipped continuous actions, when `clipActions`. */
  private readonly clipped: Float64Array | null;
  private sequence = 0;
  private started = false;
  private closed = false;

  /** Starts the workers and resolves once every one has built its copies. */
  static async create(options: WorkerVectorEnvOptions): Promise<WorkerVectorEnv> {
    const env = new WorkerVectorEnv(options);
    try {
      await Promise.all(
        env.workers.map(
          (worker, index) =>
            new Promise<void>((resolve, reject) => {
              worker.once('message', () => resolve());
              worker.once('error', (error) =>
                reject(new Error(`WorkerVectorEnv: worker ${index} failed to start: ${error.message}`)),
              );
              worker.once('exit', (code) =>
                reject(new Error(`WorkerVectorEnv: worker ${index} exited with code ${code} while starting`)),
              );
            }),
        ),
      );
    } catch (error) {
      await env.terminate();
      throw error;
    }
    for (const worker of env.workers) {
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      // A worker that dies later is reported by the step that waits on it.
      worker.on('error', () => {});
      // An env nobody closed must not keep the process alive (its workers sleep in Atomics.wait).
      worker.unref();
    }
    return env;
  }

  private constructor(options: WorkerVectorEnvOptions) {
    this.numEnvs = validateNumEnvs('WorkerVectorEnv', options.numEnvs);
    const envOptions = resolveOptions(options.envOptions);
    this.continuous = envOptions.continuous;
    this.actionSpace = landerActionSpace(this.continuous);
    const threads = options.numThreads ?? Math.min(node('node:os').availableParallelism(), this.numEnvs);
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > this.numEnvs) {
      throw new RangeError(
        `WorkerVectorEnv: numThreads = ${String(threads)} is invalid; expected an integer in [1, numEnvs = ${this.numEnvs}]`,
      );
    }
    const mainThreadShare = options.mainThreadShare ?? true;
    this.numThreads = threads;
    this.numWorkers = mainThreadShare ? threads - 1 : threads;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.clipped =
      options.clipActions && this.continuous ? new Float64Array(this.numEnvs * CONTINUOUS_ACTION_SIZE) : null;
    const actionSize = this.continuous ? CONTINUOUS_ACTION_SIZE : 1;
    this.memory = allocateSharedMemory(this.numEnvs, this.numWorkers, actionSize);
    this.workers = [];
    this.errorPorts = [];
    const sliceStart = (slice: number) => Math.floor((slice * this.numEnvs) / threads);
    if (mainThreadShare) {
      const end = sliceStart(1);
      for (let i = 0; i < end; i++) this.localEnvs.push(new LunarLander(options.envOptions));
    }
    for (let w = 0; w < this.numWorkers; w++) {
      const slice = mainThreadShare ? w + 1 : w;
      const start = sliceStart(slice);
      const end = sliceStart(slice + 1);
      const init: WorkerInit = {
        workerIndex: w,
        start,
        count: end - start,
        envOptions: { ...options.envOptions },
        memory: this.memory,
      };
      const channel = new (node('node:worker_threads').MessageChannel)();
      this.errorPorts.push(channel.port1);
      this.workers.push(startWorker({ init, errorPort: channel.port2 }, [channel.port2]));
    }
  }

  reset(seed?: number): VectorResetResult {
    this.assertOpen();
    validateSeed('WorkerVectorEnv.reset', seed);
    Atomics.store(this.memory.control, CONTROL_HAS_SEED, seed === undefined ? 0 : 1);
    this.memory.seed[0] = seed ?? 0;
    this.run(COMMAND_RESET, seed);
    this.started = true;
    return { observations: this.memory.buffers.observations };
  }

  step(actions: ArrayLike<number>): VectorStepResult {
    this.assertOpen();
    if (!this.started) throw new Error('WorkerVectorEnv.step: called before reset(); expected reset() first');
    if (this.clipped !== null) actions = clipUnitActions(actions, this.clipped);
    validateVectorActions('WorkerVectorEnv.step', actions, this.numEnvs, this.continuous);
    const shared = this.memory.actions;
    for (let i = 0; i < shared.length; i++) shared[i] = actions[i]!;
    this.run(COMMAND_STEP);
    return this.memory.buffers;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const control = this.memory.control;
    Atomics.store(control, CONTROL_COMMAND, COMMAND_CLOSE);
    for (let w = 0; w < this.numWorkers; w++) {
      Atomics.add(control, requestSlot(w), 1);
      Atomics.notify(control, requestSlot(w));
    }
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    this.closed = true;
    for (const port of this.errorPorts) port.close();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /** Hands `command` to every worker, runs the main thread's slice, and blocks until all have finished. */
  private run(command: number, seed?: number): void {
    const control = this.memory.control;
    Atomics.store(control, CONTROL_COMMAND, command);
    this.sequence = (this.sequence + 1) | 0;
    for (let w = 0; w < this.numWorkers; w++) {
      Atomics.store(control, requestSlot(w), this.sequence);
      Atomics.notify(control, requestSlot(w));
    }
    let localError: unknown = null;
    try {
      if (command === COMMAND_STEP) {
        stepSlice(this.localEnvs, 0, this.memory.actions, this.continuous, this.memory.buffers);
      } else if (command === COMMAND_RESET) {
        resetSlice(this.localEnvs, 0, seed, this.memory.buffers);
      }
    } catch (error) {
      localError = error;
    }
    for (let w = 0; w < this.numWorkers; w++) {
      const slot = doneSlot(w);
      for (;;) {
        const seen = Atomics.load(control, slot);
        if (seen === this.sequence) break;
        if (!waitWhileEqual(control, slot, seen, this.timeoutMs)) {
          throw new Error(`WorkerVectorEnv: worker ${w} did not answer within ${this.timeoutMs} ms`);
        }
      }
    }
    if (localError !== null) throw localError;
    for (let w = 0; w < this.numWorkers; w++) {
      if (Atomics.load(control, failedSlot(w)) !== 0) {
        const message =
          node('node:worker_threads').receiveMessageOnPort(this.errorPorts[w]!)?.message ?? 'unknown error';
        void this.terminate();
        throw new Error(`WorkerVectorEnv: worker ${w} failed: ${String(message)}`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('WorkerVectorEnv: used after close()');
  }
}
