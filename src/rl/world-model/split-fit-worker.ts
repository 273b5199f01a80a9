/**
 * The helper thread of a split ensemble fit (split-protocol.ts): it trains its members' share of the body,
 * each command run synchronously between Atomics waits, and reports a thrown error on its error port.
 */
import type { MessagePort } from 'node:worker_threads';
import { type Activation, AdamW, EnsembleMLP, scaleGrads } from '../../nn/index.ts';
import { nodeBuiltin } from '../../node-builtins/index.ts';
import { kernels, noGrad, Rng, Tensor, tidy, trackedTensor, useKernels } from '../../tensor/index.ts';
import {
  PREDICT_ROWS,
  type PredictBegin,
  SLOT_COMMAND,
  SLOT_DONE,
  SLOT_FAILED,
  SLOT_FORWARDED,
  SLOT_GRADS_READY,
  SLOT_REQUEST,
  SLOT_ROWS,
  SPLIT_END,
  SPLIT_FINISH,
  SPLIT_FORWARD,
  SPLIT_RESTORE,
  SPLIT_SNAPSHOT,
  SPLIT_STEP,
  SPLIT_VALIDATE,
  type SplitBegin,
  wakeEverySlot,
} from './split-protocol.ts';
import { clipGradValue } from './trainer.ts';

const threads = nodeBuiltin('node:worker_threads', 'split-fit-worker', 'it runs only as a Node worker');
const { errorPort } = threads.workerData as { errorPort: MessagePort };

/** Thrown out of a fit the main thread abandoned (it sent END mid-step): not an error to report. */
class Ended extends Error {}

function nextCommand(control: Int32Array, seen: number): number {
  // No timeout: the main thread sends END when it leaves a fit, and terminates the helper when it closes.
  while (Atomics.load(control, SLOT_REQUEST) === seen) Atomics.wait(control, SLOT_REQUEST, seen);
  return Atomics.load(control, SLOT_COMMAND);
}

function done(control: Int32Array): void {
  Atomics.store(control, SLOT_DONE, Atomics.load(control, SLOT_REQUEST));
  Atomics.notify(control, SLOT_DONE);
}

/** Computes with the main thread's kernel set, or throws (other kernels would give other numbers). */
function matchKernels(wanted: string): void {
  if (kernels().name === wanted) return;
  useKernels(wanted === 'js' ? 'js' : 'wasm');
  if (kernels().name !== wanted) {
    throw new Error(`the main thread computes with kernels '${wanted}', this thread has '${kernels().name}'`);
  }
}

/** Bodies by shape (a fit's share, a prediction session's whole), kept for the next fit or session. */
const bodies = new Map<string, EnsembleMLP>();

/** A body of `members` members of these sizes; the caller overwrites its weights. */
function bodyOf(members: number, sizes: number[], activation: string): EnsembleMLP {
  const key = JSON.stringify([members, sizes, activation]);
  let body = bodies.get(key);
  if (!body) {
    // The generator only fills initial weights, which the caller overwrites.
    body = new EnsembleMLP(members, sizes, {
      rng: new Rng(0),
      activation: activation as Activation,
      outputActivation: 'identity',
    });
    bodies.set(key, body);
  }
  return body;
}

function runFit(b: SplitBegin): void {
  const { control } = b;
  matchKernels(b.kernels);
  const net = bodyOf(b.count, b.sizes, b.activation);
  const params = net.parameters();
  let offset = 0;
  const weightViews: Float32Array[] = [];
  const gradViews: Float32Array[] = [];
  for (const p of params) {
    p.data.set(b.weights.subarray(offset, offset + p.size));
    weightViews.push(b.weights.subarray(offset, offset + p.size));
    gradViews.push(b.grads.subarray(offset, offset + p.size));
    offset += p.size;
  }
  if (offset !== b.weights.length) {
    throw new Error(`${b.weights.length} shared weights for a share of ${offset}`);
  }
  // Backward writes the gradients straight into the shared array the main thread reads them from. Each
  // member also runs as a one-member view of the share, so that the main thread can take a member's outputs
  // while the next one computes; the views' gradients are those members' slices of the same array.
  params.forEach((p, i) => {
    p.grad = new Tensor(gradViews[i]!, p.shape);
  });
  const memberNets = Array.from({ length: b.count }, (_, m) => {
    const view = net.membersView(m, 1);
    view.parameters().forEach((p, i) => {
      p.grad = new Tensor(gradViews[i]!.subarray(m * p.size, (m + 1) * p.size), p.shape);
    });
    return view;
  });
  const optimizer = new AdamW(params, {
    lr: b.learningRate,
    weightDecay: b.weightDecay,
    wholeLengths: b.wholeLengths,
  });
  const width = b.sizes[0]!;
  const rawWidth = b.sizes[b.sizes.length - 1]!;
  const batchRows = b.batchSize;
  const xFrom = b.first * batchRows * width;
  const memberInputs = batchRows * width;
  const memberRaw = batchRows * rawWidth;
  let snapshot: Float32Array[] = params.map((p) => p.data.slice());
  let seen = Atomics.load(control, SLOT_REQUEST);
  done(control);
  const expect = (wanted: number): void => {
    const command = nextCommand(control, seen);
    seen = Atomics.load(control, SLOT_REQUEST);
    if (command === SPLIT_END) throw new Ended();
    if (command !== wanted) throw new Error(`command ${command} where ${wanted} was due`);
  };
  /** Waits for the main thread to write the gradients of the first `members` members (END leaves the fit). */
  const gradsOf = (members: number): void => {
    for (;;) {
      const ready = Atomics.load(control, SLOT_GRADS_READY);
      if (Atomics.load(control, SLOT_REQUEST) !== seen) {
        const command = Atomics.load(control, SLOT_COMMAND);
        if (command === SPLIT_END) throw new Ended();
        throw new Error(`command ${command} in the middle of a gradient step`);
      }
      if (ready >= members) return;
      // END bumps the request, not this slot, and then wakes this wait; should the wake come between the
      // loads above and the wait, the timeout still sees the request soon.
      Atomics.wait(control, SLOT_GRADS_READY, ready, 20);
    }
  };
  // The cached body keeps no view of this fit's shared memory once it is over.
  try {
    for (;;) {
      const command = nextCommand(control, seen);
      seen = Atomics.load(control, SLOT_REQUEST);
      switch (command) {
        case SPLIT_FORWARD:
          tidy(() => {
            optimizer.zeroGrad();
            const raws = memberNets.map((member, m) => {
              const from = xFrom + m * memberInputs;
              const x = trackedTensor(b.inputs.subarray(from, from + memberInputs), [1, batchRows, width]);
              const raw: Tensor = member.forward(x);
              b.raw.set(raw.data, m * memberRaw);
              Atomics.store(control, SLOT_FORWARDED, m + 1);
              Atomics.notify(control, SLOT_FORWARDED);
              return raw;
            });
            raws.forEach((raw, m) => {
              gradsOf(m + 1);
              raw.backward(b.rawGrad.subarray(m * memberRaw, (m + 1) * memberRaw));
            });
            done(control);
            // The main thread refills `inputs` with the next minibatch during STEP: nothing here reads them
            // after the backward passes.
            expect(SPLIT_STEP);
            const coef = b.scalars[0]!;
            if (!Number.isNaN(coef)) {
              const grads = params.map((p) => p.grad!.data);
              scaleGrads(grads, coef);
              if (b.clipValue !== null) clipGradValue(params, b.clipValue);
              optimizer.step();
            }
          });
          break;
        case SPLIT_VALIDATE:
          noGrad(() => {
            for (let start = 0; start < b.validationRows; start += b.validationChunk) {
              const rows = Math.min(b.validationChunk, b.validationRows - start);
              tidy(() => {
                const x = trackedTensor(b.validationInputs.subarray(start * width, (start + rows) * width), [
                  rows,
                  width,
                ]);
                b.validationRaw.set(net.forward(x).data, start * b.count * rawWidth);
              });
            }
          });
          break;
        case SPLIT_SNAPSHOT:
          snapshot = params.map((p) => p.data.slice());
          break;
        case SPLIT_RESTORE:
          params.forEach((p, i) => {
            p.data.set(snapshot[i]!);
          });
          break;
        case SPLIT_FINISH:
          params.forEach((p, i) => {
            weightViews[i]!.set(p.data);
          });
          break;
        case SPLIT_END:
          done(control);
          return;
        default:
          throw new Error(`unknown command ${command}`);
      }
      done(control);
    }
  } finally {
    for (const p of params) p.grad = null;
    for (const member of memberNets) for (const p of member.parameters()) p.grad = null;
  }
}

/** The packed weights' version of a prediction session (every session brings new weights). */
let sessions = 0;

function runPredict(b: PredictBegin): void {
  const { control } = b;
  matchKernels(b.kernels);
  const net = bodyOf(b.members, b.sizes, b.activation);
  let offset = 0;
  for (const p of net.parameters()) {
    p.data.set(b.weights.subarray(offset, offset + p.size));
    offset += p.size;
  }
  if (offset !== b.weights.length)
    throw new Error(`${b.weights.length} shared weights for a body of ${offset}`);
  const packed = { owner: net, version: ++sessions };
  const width = b.sizes[0]!;
  let seen = Atomics.load(control, SLOT_REQUEST);
  done(control);
  for (;;) {
    const command = nextCommand(control, seen);
    seen = Atomics.load(control, SLOT_REQUEST);
    if (command === SPLIT_END) break;
    if (command !== PREDICT_ROWS) throw new Error(`command ${command} in a prediction session`);
    const rows = Atomics.load(control, SLOT_ROWS);
    noGrad(() =>
      tidy(() => {
        const x = trackedTensor(b.inputs.subarray(0, rows * width), [rows, width]);
        b.raw.set(net.forward(x, packed).data);
      }),
    );
    done(control);
  }
  done(control);
}

threads.parentPort!.on('message', (begin: SplitBegin | PredictBegin) => {
  try {
    if ('kind' in begin && begin.kind === 'predict') runPredict(begin);
    else runFit(begin as SplitBegin);
  } catch (error) {
    if (error instanceof Ended) {
      done(begin.control);
      return;
    }
    const e = error as Error;
    errorPort.postMessage(e?.stack ?? String(error));
    Atomics.store(begin.control, SLOT_FAILED, 1);
    // The main thread may be waiting on any slot.
    wakeEverySlot(begin.control);
  }
});
