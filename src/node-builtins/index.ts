/**
 * Node's built-in modules for the few engine functions that need files or threads (checkpoints, world-model
 * and replay-buffer files, WorkerVectorEnv). They are looked up when such a function runs
 * (`process.getBuiltinModule`, Node 20.16 and later) instead of imported, so every entry point of the
 * package bundles for a browser, where a bundler finds no `node:` import to fail on; called there, such a
 * function throws an error that says what works in its place. A leaf module, like src/rng: nn, rl and env
 * all use it, and it imports nothing.
 */

interface NodeBuiltins {
  'node:fs': typeof import('node:fs');
  'node:module': typeof import('node:module');
  'node:os': typeof import('node:os');
  'node:path': typeof import('node:path');
  'node:url': typeof import('node:url');
  'node:worker_threads': typeof import('node:worker_threads');
}

type BuiltinLookup = (id: string) => unknown;

/**
 * The built-in module `name` for `caller` (a function's name, quoted in the error); `elsewhere` says what
 * to use outside Node, e.g. "in a browser, moduleToSafetensors gives the bytes".
 */
export function nodeBuiltin<Name extends keyof NodeBuiltins>(
  name: Name,
  caller: string,
  elsewhere: string,
): NodeBuiltins[Name] {
  const proc = (globalThis as { process?: { getBuiltinModule?: BuiltinLookup } }).process;
  const found = proc?.getBuiltinModule?.(name);
  if (found === undefined) {
    throw new Error(
      `${caller} needs Node's ${name}, which this runtime does not offer (Node 20.16 or later has it); ${elsewhere}`,
    );
  }
  return found as NodeBuiltins[Name];
}
