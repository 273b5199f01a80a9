/**
 * The page's Web Worker: trains in a loop of PPO updates and yields to its message queue between them, so
 * pause, resume, download and a policy file are answered within one update while the page stays responsive.
 */

import { LunarLander } from '../env/lunar-lander.ts';
import { policyFromSafetensors } from '../rl/policy-file.ts';
import { kernels } from '../tensor/index.ts';
import { relaxedSimd } from '../tensor/wasm/features.ts';
import { landerEnv } from './landers.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { greedyEpisode, type TrainingSession } from './session.ts';
import { createSession } from './training-session.ts';

/**
 * A greedy episode of the policy being trained is sent after every this many updates of PPO (about a
 * second each); the model-based agent's iterations take tens of seconds, so after each of them.
 */
const EPISODE_EVERY = { ppo: 3, simple: 1 } as const;
/** Greedy episodes start from seeds far from the training seeds, as the CLI's evaluation does. */
const EPISODE_SEED_BASE = 1_000_000_000;

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

let session: TrainingSession | null = null;
let running = false;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function report(e: unknown): void {
  post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function trainLoop(current: TrainingSession): Promise<void> {
  post({ type: 'state', state: 'running' });
  try {
    while (running && session === current && !current.done) {
      const point = current.update();
      post({ type: 'update', point });
      if (point.update % EPISODE_EVERY[current.settings.agent] === 0 || current.done) {
        post({ type: 'episode', episode: current.episode(EPISODE_SEED_BASE + point.update) });
      }
      const path = current.modelPath();
      if (path !== null) post({ type: 'model-path', path });
      await nextTask();
    }
  } catch (e) {
    running = false;
    report(e);
    return;
  }
  if (session === current) post({ type: 'state', state: current.done ? 'finished' : 'paused' });
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'start':
      running = false;
      session = createSession(message.settings);
      running = true;
      void trainLoop(session);
      return;
    case 'pause':
      running = false;
      return;
    case 'resume':
      if (session === null) throw new Error('resume: nothing has been started yet; press start first');
      if (!running) {
        running = true;
        void trainLoop(session);
      }
      return;
    case 'download': {
      if (session === null) throw new Error('download: nothing has been trained yet; press start first');
      const bytes = session.weights();
      post({ type: 'weights', fileName: 'policy.safetensors', bytes: bytes.buffer as ArrayBuffer }, [
        bytes.buffer as ArrayBuffer,
      ]);
      return;
    }
    case 'load-policy': {
      const probe = new LunarLander(landerEnv(message.lander).envOptions);
      const { policy } = policyFromSafetensors(
        new Uint8Array(message.bytes),
        { observationSize: probe.observationSpace.shape[0]!, actionSpace: probe.actionSpace },
        message.name,
      );
      post({
        type: 'episode',
        episode: greedyEpisode(policy, message.lander, message.seed, 'file', message.name),
      });
      return;
    }
    default:
      throw new Error(`worker: unknown message ${JSON.stringify(message)}`);
  }
}

scope.onmessage = (event) => {
  try {
    handle(event.data);
  } catch (e) {
    // A bad file or a bad setting is reported; training, if any, goes on.
    report(e);
  }
};
post({ type: 'ready', kernels: kernels().name, relaxedSimd: relaxedSimd() });
