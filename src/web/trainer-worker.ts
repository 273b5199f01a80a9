/**
 * The page's Web Worker: a Trainer (trainer.ts) answering the page's messages, and a first message saying
 * which kernels the engine runs on here.
 */

import { kernels } from '../tensor/index.ts';
import { relaxedSimd } from '../tensor/wasm/features.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { Trainer } from './trainer.ts';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

const trainer = new Trainer((message, transfer = []) => scope.postMessage(message, transfer));
scope.onmessage = (event) => trainer.receive(event.data);
scope.postMessage({ type: 'ready', kernels: kernels().name, relaxedSimd: relaxedSimd() });
