/**
 * Acting to explore: a policy sampled at a temperature, the article's trick for gathering real data. For a
 * discrete policy the logits are divided by the temperature (above 1 flattens the distribution); for a
 * continuous one the Gaussian's standard deviation is scaled by it, and the action clipped to the box the
 * env carries out. Temperature 0 acts greedily.
 */
import { noGrad, type Rng, Tensor, tidy } from '../tensor/index.ts';
import { type ActorCritic, clipToBox } from './actor-critic.ts';
import { Categorical } from './distributions.ts';

/** Fills `actions` (one per row, or the box size per row) for raw observations [rows, observationSize]. */
export function exploringActions(
  policy: ActorCritic,
  observations: Float32Array,
  temperature: number,
  rng: Rng,
  actions: Float32Array,
): Float32Array {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new Error(`exploringActions: temperature = ${temperature}; expected a finite number >= 0`);
  }
  if (temperature === 0) return policy.act(observations, actions);
  const rows = observations.length / policy.observationSize;
  const normalized = policy.normalizeObservations(observations, new Float32Array(observations.length));
  noGrad(() =>
    tidy(() => {
      const dist = policy.distribution(new Tensor(normalized, [rows, policy.observationSize]), temperature);
      if (dist instanceof Categorical) {
        actions.set(dist.sample(rng));
        return;
      }
      const dims = dist.dims;
      const mean = dist.mean.data;
      const logStd = dist.logStd.data;
      for (let i = 0; i < rows * dims; i++) {
        actions[i] = mean[i]! + temperature * Math.exp(logStd[i % dims]!) * rng.normal();
      }
      clipToBox(policy.actionSpace, actions, actions);
    }),
  );
  return actions;
}
