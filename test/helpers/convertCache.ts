// Child process of the crash-safety tests (test/unit/onnx/crash.test.ts): converts a model folder into an ONNX cache
// root. Prints "converting" when the conversion starts, then one JSON line {built, dir, ms} when it is done.
// Usage: node --import tsx test/helpers/convertCache.ts MODEL_DIR CACHE_ROOT
import { openCheckpoint } from '../../src/engine/checkpoint';
import { ensureOnnxCache } from '../../src/engine/onnx/cache';

async function main(): Promise<void> {
  const [modelDir, root] = process.argv.slice(2);
  const ckpt = await openCheckpoint(modelDir);
  try {
    // stdout is a pipe: written synchronously on Linux, so the parent sees this line before the conversion runs
    process.stdout.write('converting\n');
    const t0 = Date.now();
    const r = ensureOnnxCache(ckpt, { root });
    process.stdout.write(`${JSON.stringify({ built: r.built, dir: r.dir, ms: Date.now() - t0 })}\n`);
  } finally {
    ckpt.close();
  }
}

void main();
