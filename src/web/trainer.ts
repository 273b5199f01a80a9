/**
 * What the page's training worker does, apart from the worker API (trainer-worker.ts connects the two), so
 * tests drive it in Node: a loop of updates that yields to the message queue between them, so pause, resume,
 * download and a policy file are answered within one update. One loop per session at most: a pause and a
 * resume that both land within one update leave the running loop to carry on, and never start a second.
 */
import { envFromRecord, landerSpaces } from '../env/make-env.ts';
import { decodeSafetensors } from '../nn/safetensors.ts';
import { policyFromSafetensors } from '../rl/policy-file.ts';
import { landerEnv } from './landers.ts';
import type { FromWorker, ToWorker, TrainSettings } from './protocol.ts';
import { greedyEpisode, type TrainingSession } from './session.ts';
import { createSession } from './training-session.ts';

/**
 * A greedy episode of the policy being trained is sent after every this many updates of PPO (about a
 * second each); the model-based agent's iterations take tens of seconds, so after each of them.
 */
const EPISODE_EVERY = { ppo: 3, simple: 1 } as const;
/** Greedy episodes start from seeds far from the training seeds, as the CLI's evaluation does. */
const EPISODE_SEED_BASE = 1_000_000_000;

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class Trainer {
  private session: TrainingSession | null = null;
  /** Cleared by pause: the loop stops after the update it is in. */
  private running = false;
  /** The session whose loop is alive (possibly waiting between updates); null when none is. */
  private looping: TrainingSession | null = null;

  constructor(
    private readonly post: Post,
    private readonly makeSession: (settings: TrainSettings) => TrainingSession = createSession,
  ) {}

  /** Answers one message from the page; a bad request is reported, and training, if any, goes on. */
  receive(message: ToWorker): void {
    try {
      this.handle(message);
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }

  private handle(message: ToWorker): void {
    switch (message.type) {
      case 'start':
        this.running = false;
        this.session = this.makeSession(message.settings);
        this.running = true;
        void this.trainLoop(this.session);
        return;
      case 'pause':
        this.running = false;
        return;
      case 'resume':
        if (this.session === null) throw new Error('resume: nothing has been started yet; press start first');
        this.running = true;
        if (this.looping !== this.session) void this.trainLoop(this.session);
        return;
      case 'download': {
        if (this.session === null)
          throw new Error('download: nothing has been trained yet; press start first');
        const bytes = this.session.weights();
        const buffer = bytes.buffer as ArrayBuffer;
        this.post({ type: 'weights', fileName: 'policy.safetensors', bytes: buffer }, [buffer]);
        return;
      }
      case 'load-policy':
        this.playPolicyFile(message);
        return;
      default:
        throw new Error(`worker: unknown message ${JSON.stringify(message)}`);
    }
  }

  /** The file's own env where its metadata names one (the page and `npm run train` write it), else the lander chosen. */
  private playPolicyFile(message: Extract<ToWorker, { type: 'load-policy' }>): void {
    const bytes = new Uint8Array(message.bytes);
    const { metadata } = decodeSafetensors(bytes, message.name);
    const env =
      metadata.envId === undefined
        ? landerEnv(message.lander)
        : envFromRecord(metadata.envId, metadata.envOptions, message.name);
    const { policy } = policyFromSafetensors(bytes, landerSpaces(env.envOptions), message.name);
    this.post({ type: 'episode', episode: greedyEpisode(policy, env, message.seed, 'file', message.name) });
  }

  private async trainLoop(current: TrainingSession): Promise<void> {
    this.looping = current;
    this.post({ type: 'state', state: 'running' });
    try {
      while (this.running && this.session === current && !current.done) {
        const point = current.update();
        this.post({ type: 'update', point });
        if (point.update % EPISODE_EVERY[current.settings.agent] === 0 || current.done) {
          this.post({ type: 'episode', episode: current.episode(EPISODE_SEED_BASE + point.update) });
        }
        const path = current.modelPath();
        if (path !== null) this.post({ type: 'model-path', path });
        await nextTask();
      }
    } catch (e) {
      if (this.looping === current) this.looping = null;
      if (this.session !== current) return;
      this.running = false;
      this.report(e);
      // Without a state the page would still show a session running; it offers start (and download) again.
      this.post({ type: 'state', state: 'failed' });
      return;
    }
    if (this.looping === current) this.looping = null;
    if (this.session === current) this.post({ type: 'state', state: current.done ? 'finished' : 'paused' });
  }
}
