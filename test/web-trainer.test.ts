/**
 * The page's training worker (src/web/trainer.ts) in Node, with a fake session of instant updates: one
 * training loop per session whatever the order of pause and resume, a training error ends in a 'failed'
 * state the page can act on, and a policy file plays on the env its metadata names.
 */
import { describe, expect, it } from 'vitest';
import { landerSpaces } from '../src/env/make-env.ts';
import { moduleToSafetensors } from '../src/nn/serialize.ts';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import { Rng } from '../src/tensor/index.ts';
import type { FromWorker, TrainSettings, UpdatePoint } from '../src/web/protocol.ts';
import type { TrainingSession } from '../src/web/session.ts';
import { Trainer } from '../src/web/trainer.ts';

class FakeSession {
  updates = 0;
  constructor(
    readonly settings: TrainSettings,
    private readonly updatesInAll: number,
    private readonly failAt = Infinity,
  ) {}
  get done(): boolean {
    return this.updates >= this.updatesInAll;
  }
  update(): UpdatePoint {
    if (this.updates + 1 === this.failAt) throw new Error('update: the loss is NaN');
    this.updates++;
    return { update: this.updates, steps: this.updates * 10, meanReturn: null, stepsPerSecond: 1 };
  }
  episode(seed: number) {
    return { source: 'training' as const, label: 'x', seed, totalReward: 0, frames: [] };
  }
  weights(): Uint8Array {
    return new Uint8Array(1);
  }
  modelPath() {
    return null;
  }
}

const settings: TrainSettings = { lander: 'discrete', agent: 'ppo', seed: 1, steps: 100 };
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function trainer(session: (s: TrainSettings) => FakeSession) {
  const posted: FromWorker[] = [];
  const sessions: FakeSession[] = [];
  const t = new Trainer(
    (message) => posted.push(message),
    (s) => {
      const made = session(s);
      sessions.push(made);
      return made as unknown as TrainingSession;
    },
  );
  const states = () => posted.flatMap((m) => (m.type === 'state' ? [m.state] : []));
  const updates = () => posted.flatMap((m) => (m.type === 'update' ? [m.point.update] : []));
  return { t, posted, sessions, states, updates };
}

async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await tick();
}

describe('the training worker', () => {
  it('keeps one loop when pause and resume land within one update', async () => {
    const { t, states, updates } = trainer((s) => new FakeSession(s, 6));
    t.receive({ type: 'start', settings });
    // The loop has done its first update and waits for the next task; both messages arrive before it.
    t.receive({ type: 'pause' });
    t.receive({ type: 'resume' });
    await settle(() => states().includes('finished'));
    await tick();
    expect(updates()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(states()).toEqual(['running', 'finished']);
  });

  it('pauses after the update in progress and resumes with one loop', async () => {
    const { t, states, updates } = trainer((s) => new FakeSession(s, 4));
    t.receive({ type: 'start', settings });
    t.receive({ type: 'pause' });
    await settle(() => states().includes('paused'));
    expect(updates()).toEqual([1]);
    t.receive({ type: 'resume' });
    t.receive({ type: 'pause' });
    t.receive({ type: 'resume' });
    await settle(() => states().includes('finished'));
    await tick();
    expect(updates()).toEqual([1, 2, 3, 4]);
    expect(states()).toEqual(['running', 'paused', 'running', 'finished']);
  });

  it('a new start leaves the old session’s loop to stop quietly', async () => {
    const { t, states, sessions } = trainer((s) => new FakeSession(s, 3));
    t.receive({ type: 'start', settings });
    t.receive({ type: 'start', settings: { ...settings, seed: 2 } });
    await settle(() => states().includes('finished'));
    await tick();
    expect(sessions.map((s) => s.updates)).toEqual([1, 3]);
    expect(states()).toEqual(['running', 'running', 'finished']);
  });

  it('reports a training error, then says training failed', async () => {
    const { t, posted, states } = trainer((s) => new FakeSession(s, 5, 3));
    t.receive({ type: 'start', settings });
    await settle(() => states().includes('failed'));
    const last = posted.slice(-2);
    expect(last).toEqual([
      { type: 'error', message: 'update: the loss is NaN' },
      { type: 'state', state: 'failed' },
    ]);
    // Resume starts it again (the page offers start instead), and the error comes back.
    t.receive({ type: 'resume' });
    await settle(() => states().filter((s) => s === 'failed').length === 2);
    expect(states()).toEqual(['running', 'failed', 'running', 'failed']);
  });

  it('plays a policy file on the env its metadata names, whatever lander is chosen', async () => {
    const { t, posted } = trainer((s) => new FakeSession(s, 1));
    const spaces = landerSpaces({ continuous: true });
    const policy = new ActorCritic({
      ...spaces,
      hiddenSizes: [8],
      initialLogStd: 0,
      normalizeObservations: false,
      rng: new Rng(3),
    });
    const bytes = moduleToSafetensors(policy, {
      envId: 'LunarLanderContinuous-v3',
      envOptions: JSON.stringify({ continuous: true }),
    });
    const message = { type: 'load-policy', seed: 5, name: 'c.safetensors' } as const;
    t.receive({ ...message, lander: 'discrete', bytes: bytes.slice().buffer });
    expect(posted.at(-1)).toMatchObject({ type: 'episode', episode: { source: 'file', seed: 5 } });
    const withoutEnv = moduleToSafetensors(policy, {});
    t.receive({ ...message, lander: 'discrete', bytes: withoutEnv.slice().buffer });
    expect(posted.at(-1)).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/c\.safetensors is not a policy for this env/),
    });
  });
});
