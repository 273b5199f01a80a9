// A dynamics model with known predictions, for tests of what consumes a model (the model env, the planner).
import { allocatePrediction } from '../../src/rl/world-model/decode-outputs.ts';
import type { DynamicsModel, DynamicsPrediction } from '../../src/rl/world-model/dynamics-model.ts';
import { STATE_DIMS } from '../../src/rl/world-model/lander-layout.ts';
import { LanderScalers } from '../../src/rl/world-model/model-data.ts';

/**
 * A model with known predictions: member m moves x by 0.01 * (m + 1) per step (so members disagree by a
 * known amount), y down by 0.02; action 2 (main engine) pays reward -0.3, others 0; a copy crashes with
 * probability `crash` per step.
 */
export class KnownModel implements DynamicsModel {
  readonly kind = 'ensemble';
  readonly actionSpace = { n: 4 };
  readonly memorySize: number = 0;
  readonly scalers = new LanderScalers();
  elites: number[];
  private pred: DynamicsPrediction | null = null;

  constructor(
    readonly members: number,
    private readonly crash = 0,
  ) {
    this.elites = Array.from({ length: members }, (_, i) => i);
  }

  predict(_obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
    if (this.pred?.rows !== rows) this.pred = allocatePrediction(this.members, rows, false);
    const p = this.pred;
    for (let m = 0; m < this.members; m++) {
      for (let i = 0; i < rows; i++) {
        const at = m * rows + i;
        p.delta.fill(0, at * STATE_DIMS, (at + 1) * STATE_DIMS);
        p.delta[at * STATE_DIMS] = 0.01 * (m + 1);
        p.delta[at * STATE_DIMS + 1] = -0.02;
        p.contactProb.fill(0, at * 2, at * 2 + 2);
        p.reward[at] = actions[i] === 2 ? -0.3 : 0;
        p.outcomeProb.set([1 - this.crash, this.crash, 0], at * 3);
      }
    }
    return p;
  }

  fit(): never {
    throw new Error('KnownModel does not learn');
  }

  save(): void {}
}
