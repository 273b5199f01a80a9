/**
 * A sweep file (`npm run sweep -- sweeps/<name>.json`): which train command runs every trial, on which env,
 * with how many real steps, and one search: a grid, a random search or population-based training. Parsed
 * into the typed `Sweep`, every field checked; a bad one is a usage error (exit 2) that names it, its value
 * and what was expected. Whether the keys and values suit the algorithm is checked by its own train command
 * (trial-args.ts), before any job starts.
 *
 *   {
 *     "algorithm": "ppo",                      // ppo | simple | pets: npm run train -- <algorithm>
 *     "env": "LunarLander-v3",                 // default LunarLander-v3
 *     "steps": 100000,                         // real steps of every trial (PBT: of every member)
 *     "settings": { "entropyCoef": 0.01 },     // --set values every trial shares (ppo.<field> for simple)
 *     "flags": { "eval-episodes": 20 },        // other train flags every trial shares
 *     "seeds": [1, 2],                         // run seeds (default [1]); PBT: member i gets seeds[i % n]
 *     "seed": 1,                               // the sweep's own draws (default 1)
 *     "grid": { "learningRate": [1e-4, 3e-4] }                  // or
 *     "random": { "trials": 8, "parameters": { "learningRate": { "logUniform": [1e-5, 1e-3] } } }  // or
 *     "pbt": { "population": 8, "readyInterval": 20000, "truncation": 0.25,
 *              "explore": { "learningRate": { "initial": { "logUniform": [1e-4, 1e-3] }, "perturb": [0.8, 1.25] } } }
 *   }
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../cli/args.ts';
import { ENV_IDS, type EnvId } from '../env/index.ts';
import { checkDistribution, type Distribution, numericRange } from './distributions.ts';

export const ALGORITHM_NAMES = ['ppo', 'simple', 'pets'] as const;
export type Algorithm = (typeof ALGORITHM_NAMES)[number];

/** One hyperparameter population-based training explores. */
export interface ExploredParameter {
  /** Where the members' first values are drawn from; `resample` draws from it again, perturbing stays inside. */
  initial: Distribution;
  /** Explore by multiplying by one of these factors, drawn uniformly (Jaderberg et al. 2017: 0.8 and 1.2); null: never. */
  perturb: number[] | null;
  /** Explore by drawing afresh from `initial` with this probability (else perturb, when given). Default 0. */
  resample: number;
}

export interface GridSearch {
  kind: 'grid';
  /** Every combination of these values is a configuration. */
  parameters: Record<string, unknown[]>;
}

export interface RandomSearch {
  kind: 'random';
  /** Configurations drawn. */
  trials: number;
  /** What each hyperparameter is drawn from. */
  parameters: Record<string, Distribution>;
}

export interface PbtSearch {
  kind: 'pbt';
  /** Members trained side by side. */
  population: number;
  /** Real steps between ready points, where the worst copy the best and explore (Jaderberg et al. 2017). */
  readyInterval: number;
  /** The fraction at each end of the ranking: the bottom ones copy one of the top ones. Default 0.25. */
  truncation: number;
  /** The hyperparameters that explore, and how. */
  explore: Record<string, ExploredParameter>;
}

export type Search = GridSearch | RandomSearch | PbtSearch;

export interface Sweep {
  /** The train command of every trial: `npm run train -- <algorithm>`. */
  algorithm: Algorithm;
  /** The env every trial trains on. Default LunarLander-v3. */
  env: EnvId;
  /** Real environment steps of every trial (of every member, for PBT): its sample budget. */
  steps: number;
  /** `--set` values every trial shares (`ppo.<field>` within simple, `cem.<field>` within pets). Default {}. */
  settings: Record<string, unknown>;
  /** The train command's other flags every trial shares, e.g. {"eval-episodes": 20}. Default {}. */
  flags: Record<string, string | number | boolean>;
  /** Run seeds: grid and random search train each configuration with each; PBT's member i takes seeds[i % n]. Default [1]. */
  seeds: number[];
  /** Seed of the sweep's own draws: random search's, PBT's first values, its exploit and explore. Default 1. */
  seed: number;
  search: Search;
}

const TOP_KEYS = ['algorithm', 'env', 'steps', 'settings', 'flags', 'seeds', 'seed', 'grid', 'random', 'pbt'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

function bad(where: string, value: unknown, expected: string): never {
  throw new UsageError(`${where} = ${JSON.stringify(value)} is invalid; expected ${expected}`);
}

function refuseUnknown(where: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new UsageError(`${where}: unknown field '${key}'; expected ${known.join(', ')}`);
    }
  }
}

function checkObject(where: string, value: unknown, nonEmpty = false): Record<string, unknown> {
  if (!isObject(value) || (nonEmpty && Object.keys(value).length === 0)) {
    bad(where, value, nonEmpty ? 'a non-empty object' : 'an object');
  }
  return value;
}

function parseGrid(raw: unknown): GridSearch {
  const parameters = checkObject('grid', raw, true);
  for (const [key, values] of Object.entries(parameters)) {
    if (!Array.isArray(values) || values.length === 0)
      bad(`grid.${key}`, values, 'a non-empty list of values');
  }
  return { kind: 'grid', parameters: parameters as Record<string, unknown[]> };
}

function parseRandom(raw: unknown): RandomSearch {
  const random = checkObject('random', raw);
  refuseUnknown('random', random, ['trials', 'parameters']);
  if (!isCount(random.trials, 1)) bad('random.trials', random.trials, 'a positive integer');
  const parameters = checkObject('random.parameters', random.parameters, true);
  const checked: Record<string, Distribution> = {};
  for (const [key, d] of Object.entries(parameters))
    checked[key] = checkDistribution(d, `random.parameters.${key}`);
  return { kind: 'random', trials: random.trials, parameters: checked };
}

function parseExplored(key: string, raw: unknown): ExploredParameter {
  const where = `pbt.explore.${key}`;
  const p = checkObject(where, raw);
  refuseUnknown(where, p, ['initial', 'perturb', 'resample']);
  const initial = checkDistribution(p.initial, `${where}.initial`);
  let perturb: number[] | null = null;
  if (p.perturb !== undefined) {
    const factors = p.perturb;
    if (
      !Array.isArray(factors) ||
      factors.length === 0 ||
      !factors.every((f) => Number.isFinite(f) && f > 0)
    ) {
      bad(`${where}.perturb`, factors, 'a non-empty list of positive factors, e.g. [0.8, 1.25]');
    }
    if (numericRange(initial) === null) {
      throw new UsageError(
        `${where}.perturb: a list of choices cannot be perturbed; use "resample", or a uniform, logUniform or intUniform range`,
      );
    }
    perturb = factors as number[];
  }
  const resample = p.resample ?? 0;
  if (typeof resample !== 'number' || !(resample >= 0 && resample <= 1)) {
    bad(`${where}.resample`, resample, 'a probability in [0, 1]');
  }
  if (perturb === null && resample === 0) {
    throw new UsageError(`${where}: explores no way; give "perturb": [factors] or "resample": <probability>`);
  }
  return { initial, perturb, resample };
}

function parsePbt(raw: unknown, steps: number): PbtSearch {
  const pbt = checkObject('pbt', raw);
  refuseUnknown('pbt', pbt, ['population', 'readyInterval', 'truncation', 'explore']);
  if (!isCount(pbt.population, 2)) bad('pbt.population', pbt.population, 'an integer >= 2');
  if (!isCount(pbt.readyInterval, 1) || pbt.readyInterval >= steps) {
    bad('pbt.readyInterval', pbt.readyInterval, `a positive integer of real steps below steps = ${steps}`);
  }
  const truncation = pbt.truncation ?? 0.25;
  if (typeof truncation !== 'number' || !(truncation > 0 && truncation <= 0.5)) {
    bad('pbt.truncation', truncation, 'a fraction in (0, 0.5]');
  }
  const explore: Record<string, ExploredParameter> = {};
  for (const [key, p] of Object.entries(checkObject('pbt.explore', pbt.explore, true))) {
    explore[key] = parseExplored(key, p);
  }
  return { kind: 'pbt', population: pbt.population, readyInterval: pbt.readyInterval, truncation, explore };
}

/** The searched hyperparameters' names. */
export function searchedKeys(search: Search): string[] {
  return Object.keys(search.kind === 'pbt' ? search.explore : search.parameters);
}

/** A sweep file's JSON, checked field by field. */
export function parseSweep(raw: unknown): Sweep {
  const file = checkObject('the sweep', raw);
  refuseUnknown('the sweep', file, TOP_KEYS);
  if (!ALGORITHM_NAMES.includes(file.algorithm as Algorithm)) {
    bad('algorithm', file.algorithm, ALGORITHM_NAMES.map((a) => `"${a}"`).join(', '));
  }
  const env = file.env ?? 'LunarLander-v3';
  if (!ENV_IDS.includes(env as EnvId)) bad('env', env, ENV_IDS.map((e) => `"${e}"`).join(' or '));
  if (!isCount(file.steps, 1)) bad('steps', file.steps, 'a positive integer of real steps');
  const settings = checkObject('settings', file.settings ?? {});
  const flags = checkObject('flags', file.flags ?? {});
  for (const [name, value] of Object.entries(flags)) {
    if (!['string', 'number', 'boolean'].includes(typeof value))
      bad(`flags.${name}`, value, 'a string, number or boolean');
  }
  const seeds = file.seeds ?? [1];
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => isCount(s, 0))) {
    bad('seeds', seeds, 'a non-empty list of non-negative integers');
  }
  const seed = file.seed ?? 1;
  if (!isCount(seed, 0)) bad('seed', seed, 'a non-negative integer');
  const given = ['grid', 'random', 'pbt'].filter((k) => file[k] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      `the sweep needs exactly one search, "grid", "random" or "pbt"; it has ${given.length ? given.join(' and ') : 'none'}`,
    );
  }
  const search =
    given[0] === 'grid'
      ? parseGrid(file.grid)
      : given[0] === 'random'
        ? parseRandom(file.random)
        : parsePbt(file.pbt, file.steps);
  for (const key of searchedKeys(search)) {
    if (key in settings) throw new UsageError(`settings.${key}: ${key} is searched; drop it from settings`);
  }
  return {
    algorithm: file.algorithm as Algorithm,
    env: env as EnvId,
    steps: file.steps,
    settings,
    flags: flags as Sweep['flags'],
    seeds: seeds as number[],
    seed,
    search,
  };
}

/** A sweep file read and parsed; any problem is a usage error that names the file. */
export function readSweepFile(path: string): Sweep {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`sweep file ${path}: cannot read it: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`sweep file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parseSweep(raw);
  } catch (e) {
    throw new UsageError(`sweep file ${path}: ${(e as Error).message}`);
  }
}
