// The engine as one import (`lander-engine`): every layer's public face. Each layer is also its own entry
// point (`lander-engine/tensor`, `/nn`, `/rl`, `/env`), for code that needs only one. The seeded `Rng` is
// the same class in tensor and env (both re-export src/rng), so it comes once, from tensor.

export * from './env/index.ts';
export * from './nn/index.ts';
export * from './rl/index.ts';
export * from './tensor/index.ts';
