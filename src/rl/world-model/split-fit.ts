/**
 * An ensemble's fit on two threads (split-protocol.ts): the members are independent but for the shared
 * log-variance bounds, the loss and the global gradient norm, so the main thread trains members [0, k) of the
 * body while a helper thread trains [k, E), and the main thread alone applies the Gaussian head, the loss,
 * the bounds' gradient and the norm, member by member in the order a one-thread fit uses: the same seed
 * gives bit-identical weights and metrics with one thread or two. Node only (worker_threads and
 * SharedArrayBuffer; looked up when `FitThreads` starts its helper, so the layer still bundles for a browser).
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import {
  AdamW,
  clipCoefficient,
  EnsembleMLP,
  gradNorm,
  type ProbabilisticEnsemble,
  scaleGrads,
} from '../../nn/index.ts';
import { nodeBuiltin } from '../../node-builtins/index.ts';
import { startModuleWorker } from '../../node-builtins/module-worker.ts';
import { kernels, noGrad, Rng, resultTensor, type Tensor, tidy, trackedTensor } from '../../tensor/index.ts';
import { COMMAND_TIMEOUT_MS, HelperChannel, START_TIMEOUT_MS } from './helper-channel.ts';
import { gatherRows, type ModelData } from './model-data.ts';
import { type LossParts, landerModelLossRows, lossOfSums, lossSums } from './model-loss.ts';
import {
  FIT_CONTROL_SLOTS,
  SLOT_FORWARDED,
  SLOT_GRADS_READY,
  SLOT_REQUEST,
  SPLIT_END,
  SPLIT_FINISH,
  SPLIT_FORWARD,
  SPLIT_RESTORE,
  SPLIT_SNAPSHOT,
  SPLIT_STEP,
  SPLIT_VALIDATE,
  type SplitBegin,
  sharedFloat32,
} from './split-protocol.ts';
import { clipGradValue, type FitOptions } from './trainer.ts';

const ELSEWHERE = 'elsewhere, fit with threads = 1';

/** The helper thread as a fit drives it: messages to it, and the port its errors arrive on. */
export interface FitHelper {
  worker: { postMessage(message: unknown): void };
  errorPort: { close(): void };
  fresh: boolean;
}

/**
 * The helper thread an ensemble fit splits its members with, started on the first fit and kept for the
 * next ones; `close()` ends it (an unclosed helper does not keep the process alive).
 */
export class FitThreads {
  private worker: Worker | null = null;
  private errorPort: MessagePort | null = null;
  private exit: string | null = null;
  /** The session (a fit's or a prediction's) the helper serves now; it serves one at a time. */
  private holder: object | null = null;

  /**
   * The helper for `session`, started on first use; another session cannot have it until this one is
   * released (`release`). Typed by what a fit uses of it, not by node's Worker and MessagePort,
   * so that the package's declarations need no Node types (test/package.test.ts type-checks them without).
   */
  helper(session: object): FitHelper {
    if (this.exit !== null) throw new Error(`ensemble fit thread: the helper thread ${this.exit}`);
    if (this.holder !== null && this.holder !== session) {
      throw new Error(
        "ensemble fit thread: the helper thread is serving another session (a fit, or another model's predictions); end it first",
      );
    }
    if (this.worker && this.errorPort) {
      this.holder = session;
      return { worker: this.worker, errorPort: this.errorPort, fresh: false };
    }
    const { MessageChannel } = nodeBuiltin('node:worker_threads', 'FitThreads', ELSEWHERE);
    const channel = new MessageChannel();
    const isTypeScript = import.meta.url.endsWith('.ts');
    const url = new URL(isTypeScript ? './split-fit-worker.ts' : './split-fit-worker.js', import.meta.url);
    const worker = startModuleWorker(
      url,
      { workerData: { errorPort: channel.port2 }, transferList: [channel.port2] },
      'FitThreads',
      ELSEWHERE,
    );
    worker.unref();
    channel.port1.unref();
    // Only the current helper's end counts (not one that close() ended).
    worker.on('error', (e: Error) => {
      if (this.worker === worker) this.exit = `failed: ${e.message}`;
    });
    worker.on('exit', (code: number) => {
      if (this.worker === worker) this.exit ??= `exited (code ${code})`;
    });
    this.worker = worker;
    this.errorPort = channel.port1;
    this.holder = session;
    return { worker, errorPort: channel.port1, fresh: true };
  }

  /**
   * Begins `session` on the helper: sends it `message` (which carries the session's control array) and waits
   * for the helper to take it up; the channel returned releases the helper when the session ends.
   */
  begin(session: object, message: { control: Int32Array }, name: string): HelperChannel {
    const helper = this.helper(session);
    const channel = new HelperChannel(message.control, helper.errorPort, name, (healthy) =>
      this.release(session, healthy),
    );
    // The helper answers the start as a command: done = request = 1.
    Atomics.store(message.control, SLOT_REQUEST, 1);
    helper.worker.postMessage(message);
    channel.wait(helper.fresh ? START_TIMEOUT_MS : COMMAND_TIMEOUT_MS, 'start');
    return channel;
  }

  /**
   * The session `session` has ended; a helper that stopped answering (`healthy` false) is ended too, and the
   * next session starts a new one.
   */
  release(session: object, healthy = true): void {
    if (this.holder !== session) return;
    this.holder = null;
    if (!healthy) {
      const worker = this.worker;
      this.worker = null;
      this.errorPort?.close();
      this.errorPort = null;
      void worker?.terminate();
    }
  }

  /** Whether a helper thread is running (started and not closed). */
  get alive(): boolean {
    return this.worker !== null && this.exit === null;
  }

  /** Ends the helper thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.holder = null;
    this.errorPort?.close();
    this.errorPort = null;
    if (worker) await worker.terminate();
  }
}

/** What a split fit of an ensemble model reads: its network, data and loss settings. */
export interface SplitFitContext {
  ensemble: ProbabilisticEnsemble;
  train: ModelData;
  valid: ModelData;
  outcomeWeights: Float32Array;
  contactEventWeight: number;
  /** The extra loss term (the bounds' penalty), or null. */
  regulariser: () => Tensor | null;
  validationChunk: number;
}

/** One fit's session with the helper: the steps, validation outputs, snapshots, and the weights back at the end. */
export class SplitFit {
  private readonly channel: HelperChannel;
  private readonly begin: SplitBegin;
  private readonly mainBody: EnsembleMLP;
  private readonly mainParams: Tensor[];
  private readonly bodyParams: Tensor[];
  private readonly optimizer: AdamW;
  private readonly batch: ModelData;
  private readonly indices: Int32Array;
  private readonly members: number;
  private readonly split: number;
  private readonly rawWidth: number;
  private snapshotTaken: Float32Array[] | null = null;
  /** The next step's minibatch, gathered ahead: `rng`'s state before its draws and after them. */
  private prepared: { before: number[]; after: number[] } | null = null;

  constructor(
    threads: FitThreads,
    private readonly ctx: SplitFitContext,
    options: FitOptions,
  ) {
    const { ensemble, valid } = ctx;
    const body = ensemble.body;
    const E = body.members;
    if (E < 2) throw new Error(`a fit on two threads needs at least 2 members; the ensemble has ${E}`);
    // The main thread also runs the head, the loss and the norm, so it takes the smaller share.
    const k = Math.floor(E / 2);
    this.members = E;
    this.split = k;
    const sizes = [...body.sizes];
    const width = sizes[0]!;
    const rawWidth = sizes[sizes.length - 1]!;
    this.rawWidth = rawWidth;
    const B = options.batchSize;
    const activation = body.layers[0]!.activation;
    this.bodyParams = body.parameters();
    const helperSizes = this.bodyParams.map((p) => (p.size / E) * (E - k));
    const helperTotal = helperSizes.reduce((a, b) => a + b, 0);
    const control = new Int32Array(new SharedArrayBuffer(FIT_CONTROL_SLOTS * 4));
    const inputs = sharedFloat32(E * B * width);
    this.begin = {
      kernels: kernels().name,
      sizes,
      activation,
      members: E,
      first: k,
      count: E - k,
      batchSize: B,
      validationRows: valid.rows,
      validationChunk: ctx.validationChunk,
      learningRate: options.learningRate,
      weightDecay: options.weightDecay,
      wholeLengths: this.bodyParams.map((p) => p.size),
      clipValue: options.clipValue ?? null,
      control,
      scalars: new Float64Array(new SharedArrayBuffer(8)),
      inputs,
      raw: sharedFloat32((E - k) * B * rawWidth),
      rawGrad: sharedFloat32((E - k) * B * rawWidth),
      validationInputs: sharedFloat32(valid.rows * width),
      validationRaw: sharedFloat32((E - k) * valid.rows * rawWidth),
      weights: sharedFloat32(helperTotal),
      grads: sharedFloat32(helperTotal),
    };
    this.begin.validationInputs.set(valid.inputs);
    // The helper's members' weights in, each parameter's slice [k, E) one after another.
    let offset = 0;
    for (const p of this.bodyParams) {
      const from = (p.size / E) * k;
      this.begin.weights.set(p.data.subarray(from), offset);
      offset += p.size - from;
    }
    this.mainBody = new EnsembleMLP(k, sizes, { rng: new Rng(0), activation, outputActivation: 'identity' });
    this.mainParams = this.mainBody.parameters();
    this.mainParams.forEach((p, i) => {
      p.data.set(this.bodyParams[i]!.data.subarray(0, p.size));
    });
    this.optimizer = new AdamW([ensemble.maxLogVar, ensemble.minLogVar, ...this.mainParams], {
      lr: options.learningRate,
      weightDecay: options.weightDecay,
      wholeLengths: [ensemble.maxLogVar.size, ensemble.minLogVar.size, ...this.bodyParams.map((p) => p.size)],
    });
    this.batch = {
      rows: E * B,
      inputSize: width,
      inputs,
      delta: new Float32Array(E * B * 6),
      contacts: new Float32Array(E * B * 2),
      reward: new Float32Array(E * B),
      rewardMask: new Float32Array(E * B),
      outcome: new Uint8Array(E * B),
      events: new Uint8Array(E * B),
    };
    this.indices = new Int32Array(E * B);
    this.channel = threads.begin(this, this.begin, 'ensemble fit thread');
  }

  /**
   * One gradient step as fitLearner's: the same minibatch draws, the loss on every member's rows, the norm
   * of every gradient in the parameters' order, AdamW on each thread's share. NaN when the norm was not finite.
   */
  step(batchSize: number, rng: Rng, options: FitOptions): number {
    const { ctx, batch } = this;
    const E = this.members;
    const k = this.split;
    const B = batchSize;
    const width = batch.inputSize;
    const memberRaw = B * this.rawWidth;
    if (!this.takePrepared(rng)) this.draw(rng);
    this.channel.signal(SLOT_FORWARDED, 0);
    this.channel.signal(SLOT_GRADS_READY, 0);
    this.channel.send(SPLIT_FORWARD);
    return tidy(() => {
      this.optimizer.zeroGrad();
      // A one-thread backward pass adds the bounds' penalty to their gradients before any row's share.
      const extra = ctx.regulariser();
      extra?.backward();
      const x = trackedTensor(batch.inputs.subarray(0, k * B * width), [k, B, width]);
      const mainRaw = this.mainBody.forward(x);
      const sums = lossSums();
      let mainGrad: Float32Array;
      if (this.memberByMember(B)) {
        // The head and the loss take each member's rows as they arrive, in the one-thread order; the helper
        // runs each member's backward pass as soon as its gradient is written.
        mainGrad = this.headAndLoss(mainRaw.data, 0, k, B, sums);
        for (let i = 0; i < E - k; i++) {
          this.channel.waitFor(SLOT_FORWARDED, i + 1, COMMAND_TIMEOUT_MS, 'forward', options.whileWaiting);
          const raw = this.begin.raw.subarray(i * memberRaw, (i + 1) * memberRaw);
          this.begin.rawGrad.set(this.headAndLoss(raw, k + i, 1, B, sums), i * memberRaw);
          this.channel.signal(SLOT_GRADS_READY, i + 1);
        }
      } else {
        // Every member's rows in one call, where one member's would compute other numbers.
        this.channel.waitFor(SLOT_FORWARDED, E - k, COMMAND_TIMEOUT_MS, 'forward', options.whileWaiting);
        const whole = new Float32Array(E * memberRaw);
        whole.set(mainRaw.data);
        whole.set(this.begin.raw, k * memberRaw);
        const grad = this.headAndLoss(whole, 0, E, B, sums);
        this.begin.rawGrad.set(grad.subarray(k * memberRaw));
        this.channel.signal(SLOT_GRADS_READY, E - k);
        mainGrad = grad.subarray(0, k * memberRaw);
      }
      mainRaw.backward(mainGrad);
      this.channel.wait(COMMAND_TIMEOUT_MS, 'backward', options.whileWaiting);
      const modelLoss = lossOfSums(sums, E * B).loss;
      const loss = extra ? noGrad(() => modelLoss.add(extra)) : modelLoss;
      // The whole gradient in the one-thread order: the ensemble's own parameters (the bounds), then each
      // body parameter's members [0, k) (here) followed by [k, E) (the helper's).
      const ordered: Float32Array[] = [ctx.ensemble.maxLogVar.grad!.data, ctx.ensemble.minLogVar.grad!.data];
      let offset = 0;
      this.mainParams.forEach((p, i) => {
        const helperSize = this.bodyParams[i]!.size - p.size;
        ordered.push(p.grad!.data, this.begin.grads.subarray(offset, offset + helperSize));
        offset += helperSize;
      });
      const norm = gradNorm(ordered);
      if (!Number.isFinite(norm)) {
        this.begin.scalars[0] = Number.NaN;
        this.channel.command(SPLIT_STEP, 'step');
        return Number.NaN;
      }
      const coef = clipCoefficient(norm, options.maxGradNorm);
      this.begin.scalars[0] = coef;
      this.channel.send(SPLIT_STEP);
      const own = this.optimizer.params;
      scaleGrads(
        own.map((p) => p.grad!.data),
        coef,
      );
      if (options.clipValue !== undefined) clipGradValue(own, options.clipValue);
      this.optimizer.step();
      // The minibatch is read by now (loss, both backward passes): the next one is drawn while the helper
      // finishes its larger share of the step.
      this.prepare(rng);
      this.channel.wait(COMMAND_TIMEOUT_MS, 'step');
      return loss.item();
    });
  }

  /**
   * Whether the head may run member by member with the numbers of one call over every member: not where a
   * member's rows are too few for the kernel set's WebAssembly bounds but all members' rows are not.
   */
  private memberByMember(batchSize: number): boolean {
    const cutoff = kernels().minMapElements;
    const perMember = batchSize * (this.rawWidth / 2);
    return perMember >= cutoff || perMember * this.members < cutoff;
  }

  /**
   * The Gaussian head and the loss on members [first, first + count) of the minibatch (B rows each), whose
   * raw outputs are `rawData`: adds their rows to `sums` and returns the loss's gradient with respect to `rawData`. The
   * bounds' gradients take these rows' shares, so members must come in order.
   */
  private headAndLoss(
    rawData: Float32Array,
    first: number,
    count: number,
    B: number,
    sums: LossParts,
  ): Float32Array {
    const { ctx, batch } = this;
    const raw = trackedTensor(rawData, [count, B, this.rawWidth], true);
    const { mean, logVar } = ctx.ensemble.head(raw);
    // Zeroed: the loss leaves a masked reward's derivative unwritten. Pooled, and given back with the step.
    const dMean = resultTensor(mean.shape, true).data;
    const dLogVar = resultTensor(logVar.shape, true).data;
    const rows = { out: mean.data, logVar: logVar.data, first: first * B, total: this.members * B };
    landerModelLossRows(
      { ...rows, dOut: dMean, dLogVar },
      batch,
      ctx.outcomeWeights,
      ctx.contactEventWeight,
      sums,
    );
    mean.backward(dMean);
    logVar.backward(dLogVar);
    return raw.grad!.data;
  }

  /** Each member's rows drawn with replacement (bootstrapped minibatches, FeedForwardModel's learner). */
  private draw(rng: Rng): void {
    const { indices } = this;
    for (let i = 0; i < indices.length; i++) indices[i] = rng.integer(0, this.ctx.train.rows);
    gatherRows(this.ctx.train, indices, this.batch);
  }

  /**
   * Draws and gathers the next step's minibatch ahead of time, then puts `rng` back, so that it is unchanged
   * until that step (`takePrepared`) takes the same draws from the same state.
   */
  private prepare(rng: Rng): void {
    const before = rng.getState();
    this.draw(rng);
    this.prepared = { before, after: rng.getState() };
    rng.setState(before);
  }

  /** Whether the prepared minibatch is the one `rng` draws next; if so, `rng` moves past its draws. */
  private takePrepared(rng: Rng): boolean {
    const prepared = this.prepared;
    this.prepared = null;
    if (!prepared) return false;
    const now = rng.getState();
    if (!now.every((v, i) => Object.is(v, prepared.before[i]))) return false;
    rng.setState(prepared.after);
    return true;
  }

  /**
   * Every member's head outputs on the validation rows, laid out as FeedForwardModel's validationOutputs:
   * [E, rows, out] means (and log-variances), chunk by chunk as it computes them.
   */
  validationOutputs(outs: Float32Array, logVars: Float32Array | null): void {
    const { ctx } = this;
    const E = this.members;
    const k = this.split;
    const rows = ctx.valid.rows;
    const width = ctx.valid.inputSize;
    const rw = this.rawWidth;
    const out = rw / 2;
    const size = rows * out;
    this.channel.send(SPLIT_VALIDATE);
    const mainRaws: Float32Array[] = [];
    noGrad(() => {
      for (let start = 0; start < rows; start += ctx.validationChunk) {
        const n = Math.min(ctx.validationChunk, rows - start);
        tidy(() => {
          const x = trackedTensor(ctx.valid.inputs.subarray(start * width, (start + n) * width), [n, width]);
          mainRaws.push(this.mainBody.forward(x).data.slice());
        });
      }
    });
    this.channel.wait(COMMAND_TIMEOUT_MS, 'validate');
    noGrad(() => {
      let chunk = 0;
      for (let start = 0; start < rows; start += ctx.validationChunk, chunk++) {
        const n = Math.min(ctx.validationChunk, rows - start);
        tidy(() => {
          const whole = new Float32Array(E * n * rw);
          whole.set(mainRaws[chunk]!);
          const from = start * (E - k) * rw;
          whole.set(this.begin.validationRaw.subarray(from, from + (E - k) * n * rw), k * n * rw);
          const { mean, logVar } = ctx.ensemble.head(trackedTensor(whole, [E, n, rw]));
          for (let e = 0; e < E; e++) {
            const src = e * n * out;
            const to = e * size + start * out;
            outs.set(mean.data.subarray(src, src + n * out), to);
            if (logVars) logVars.set(logVar.data.subarray(src, src + n * out), to);
          }
        });
      }
    });
  }

  /** The weights of both threads' shares (the helper's stays in the helper: one snapshot is kept there). */
  snapshot(): Float32Array[] {
    this.channel.command(SPLIT_SNAPSHOT, 'snapshot');
    const taken = this.optimizer.params.map((p) => p.data.slice());
    this.snapshotTaken = taken;
    return taken;
  }

  restore(snapshot: Float32Array[]): void {
    if (snapshot !== this.snapshotTaken) {
      throw new Error(
        'SplitFit.restore: only the latest snapshot can be restored (the helper keeps that one)',
      );
    }
    this.channel.command(SPLIT_RESTORE, 'restore');
    this.optimizer.params.forEach((p, i) => {
      p.data.set(snapshot[i]!);
    });
  }

  /** Writes both shares back into the ensemble's body and releases the helper for the next fit. */
  finish(): void {
    this.channel.command(SPLIT_FINISH, 'finish');
    let offset = 0;
    this.bodyParams.forEach((p, i) => {
      const own = this.mainParams[i]!.data;
      p.data.set(own, 0);
      const helperSize = p.size - own.length;
      p.data.set(this.begin.weights.subarray(offset, offset + helperSize), own.length);
      offset += helperSize;
    });
    this.end();
  }

  /** Lets the helper leave this fit (after an error too); the ensemble keeps the weights it had. */
  end(): void {
    this.channel.finish(SPLIT_END);
  }
}
