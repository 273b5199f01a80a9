// Worker side of WorkerVectorEnv: owns copies [start, start + count) and serves commands from shared
// memory until told to close (protocol in worker-protocol.ts).
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { LunarLander } from './lunar-lander.ts';
import { resetSlice, stepSlice } from './vector.ts';
import {
  COMMAND_CLOSE,
  COMMAND_RESET,
  COMMAND_STEP,
  CONTROL_COMMAND,
  CONTROL_HAS_SEED,
  doneSlot,
  failedSlot,
  requestSlot,
  type WorkerInit,
  waitWhileEqual,
} from './worker-protocol.ts';

const init = workerData.init as WorkerInit;
const errorPort = workerData.errorPort as MessagePort;
const { control, seed, actions, buffers } = init.memory;
const envs = Array.from({ length: init.count }, () => new LunarLander(init.envOptions));
const continuous = envs[0]!.continuous;
const request = requestSlot(init.workerIndex);
const done = doneSlot(init.workerIndex);

parentPort!.postMessage('ready');

let served = 0;
for (;;) {
  waitWhileEqual(control, request, served, Number.POSITIVE_INFINITY);
  served = Atomics.load(control, request);
  const command = Atomics.load(control, CONTROL_COMMAND);
  if (command === COMMAND_CLOSE) break;
  try {
    if (command === COMMAND_STEP) {
      stepSlice(envs, init.start, actions, continuous, buffers);
    } else if (command === COMMAND_RESET) {
      resetSlice(envs, init.start, Atomics.load(control, CONTROL_HAS_SEED) ? seed[0]! : undefined, buffers);
    } else {
      throw new Error(`vector worker: unknown command ${command}`);
    }
  } catch (error) {
    Atomics.store(control, failedSlot(init.workerIndex), 1);
    errorPort.postMessage(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  Atomics.store(control, done, served);
  Atomics.notify(control, done);
}
Atomics.store(control, done, served);
Atomics.notify(control, done);
