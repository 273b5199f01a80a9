// Runs one benchmark suite by name: `npm run bench -- tensor` loads bench/tensor.bench.ts.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !suites.includes(name)) {
  console.error(`usage: npm run bench -- <suite> [options]\nsuites: ${suites.join(', ')}`);
  if (name) console.error(`unknown suite '${name}'`);
  process.exit(2);
}
process.argv = [process.argv[0]!, join(here, `${name}.bench.ts`), ...rest];
await import(pathToFileURL(join(here, `${name}.bench.ts`)).href);
