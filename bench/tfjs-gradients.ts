// Registers TensorFlow.js's gradient functions, which training benchmarks need (`minimize`, `grads`).
// `@tensorflow/tfjs-core`'s Node entry leaves them out and the full `@tensorflow/tfjs` bundle inlines them
// from `dist/register_all_gradients.js`, an ES module with extensionless imports that Node cannot load as
// it is. We do what that bundle's build does: bundle the file (with esbuild, which tsx already brings) and
// run it once. The registry and engine tfjs uses are process-wide globals, so the gradients it registers
// serve the `tf` the benchmarks import.
import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';

const require = createRequire(import.meta.url);
const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
const bundle = buildSync({
  entryPoints: [entry],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  write: false,
  logLevel: 'error',
});
const module = { exports: {} };
new Function('require', 'module', 'exports', bundle.outputFiles[0]!.text)(require, module, module.exports);
