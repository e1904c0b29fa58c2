// Knockout runner benchmark: random-weight checkpoints at published Mamba-2 shapes on the ORT CPU backend.
// Prints trace latency (macro, k = 9, sets subject/relation/last, 12-token prompt), dataset throughput (8 prompts),
// and the naive way (one full forward per variant, batch 1) in the same run, as a ratio.
//   npm run bench -- [--shapes 130m,1.3b] [--prompts 8] [--naive-prompts 8] [--threads N] [--dir FOLDER]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../src/engine/checkpoint/index';
import { ensureOnnxCache } from '../src/engine/onnx/cache';
import { OrtBackend } from '../src/engine/runtime/ortBackend';
import { cleanForward, runVariants, runVariantsNaive, type CleanPrompt, type Variant } from '../src/engine/experiments/runner';
import { macroVariants } from '../src/engine/experiments/macro';
import { writeRandomCheckpoint } from '../test/helpers/checkpointWriter';
import type { PromptPositions } from '../src/engine/experiments/positions';

const SHAPES: Record<string, { dModel: number; nLayer: number }> = {
  '130m': { dModel: 768, nLayer: 24 },
  '370m': { dModel: 1024, nLayer: 48 },
  '780m': { dModel: 1536, nLayer: 48 },
  '1.3b': { dModel: 2048, nLayer: 48 },
};

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const N = 12;
const K = 9;
const SETS = ['subject', 'relation', 'last'];

function promptIds(p: number, vocab: number): Int32Array {
  let s = 1234 + p * 7919;
  return Int32Array.from({ length: N }, () => (s = (s * 1103515245 + 12345) >>> 0) % vocab);
}

/** subject = tokens 2..4, relation = the rest, last = 11 (a typical COUNTERFACT layout). */
function positions(): PromptPositions {
  const subject = [2, 3, 4];
  return { n: N, subject, relation: Array.from({ length: N - 1 }, (_, i) => i).filter((i) => !subject.includes(i)), last: N - 1, subjectSpan: [0, 0] };
}

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

async function benchShape(name: string, root: string, nPrompts: number, naivePrompts: number, threads: number | undefined): Promise<void> {
  const shape = SHAPES[name];
  if (!shape) throw new Error(`unknown shape '${name}' (known: ${Object.keys(SHAPES).join(', ')})`);
  const dir = path.join(root, `mamba2-${name}-random`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    process.stderr.write(`writing a random ${name}-shape checkpoint to ${dir} …\n`);
    const t0 = Date.now();
    await writeRandomCheckpoint(dir, {
      format: 'state-spaces',
      weights: 'safetensors',
      dtype: 'float16',
      dModel: shape.dModel,
      nLayer: shape.nLayer,
      vocabSize: 50280,
      dState: 128,
      headdim: 64,
      nGroups: 1,
      seed: 1,
    });
    process.stderr.write(`  written in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const ckpt = await openCheckpoint(dir);
  const [{ dir: cacheDir, manifest }, convS] = await time(async () => ensureOnnxCache(ckpt, { root: path.join(root, 'onnx') }));
  const [backend, openS] = await time(() => OrtBackend.open(ckpt, cacheDir, manifest, { ep: 'cpu', threads }));
  const c = ckpt.config;
  const L = c.nLayer;
  const pos = positions();
  const variantsFor = (p: number): Variant[] => macroVariants(p, pos, [K], SETS, L).variants;
  console.log(`\n== ${name} shape: d_model ${c.dModel}, ${L} layers, vocab ${c.vocabSize} (padded ${c.paddedVocabSize}), d_state ${c.dState}, headdim ${c.headdim}, ${c.nHeads} heads`);
  console.log(`   ONNX cache ${convS.toFixed(1)} s (0 when cached), open ${openS.toFixed(1)} s, ep ${backend.ep}, threads ${threads ?? os.availableParallelism()}`);
  console.log(`   prompt ${N} tokens, window k=${K}, sets ${SETS.join('/')}: ${variantsFor(0).length} variants per prompt`);

  // warm-up (first ORT runs allocate)
  const p0: CleanPrompt[] = [{ ids: promptIds(0, c.vocabSize) }];
  await runVariants(backend, await cleanForward(backend, p0), variantsFor(0).slice(0, 4));

  const phase = (what: string) => process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${what}\n`);
  phase('trace (best of 3)');
  // trace latency (clean forward + all variants), best of 3
  let traceS = Infinity;
  for (let r = 0; r < 3; r++) {
    const [, s] = await time(async () => runVariants(backend, await cleanForward(backend, p0), variantsFor(0)));
    traceS = Math.min(traceS, s);
  }
  phase('naive trace');
  // naive trace
  const clean0 = await cleanForward(backend, p0);
  const [, naiveTraceS] = await time(() => runVariantsNaive(backend, p0, clean0.targets, variantsFor(0)));

  phase(`dataset: ${nPrompts} prompts`);
  // dataset throughput: nPrompts prompts of equal length in one chunk
  const prompts: CleanPrompt[] = Array.from({ length: nPrompts }, (_, p) => ({ ids: promptIds(p, c.vocabSize) }));
  const all: Variant[] = [];
  for (let p = 0; p < nPrompts; p++) all.push(...variantsFor(p));
  const [, dsS] = await time(async () => runVariants(backend, await cleanForward(backend, prompts), all));
  phase('naive dataset');
  // naive dataset: per prompt, a clean forward + one full forward per variant
  const np = Math.min(naivePrompts, nPrompts);
  const [, naiveDsS] = await time(async () => {
    for (let p = 0; p < np; p++) {
      const pp = [prompts[p]];
      const cl = await cleanForward(backend, pp);
      await runVariantsNaive(backend, pp, cl.targets, variantsFor(0));
    }
  });
  const fastRate = nPrompts / dsS;
  const naiveRate = np / naiveDsS;
  console.log(`   trace latency           ${traceS.toFixed(3)} s   (naive ${naiveTraceS.toFixed(3)} s, ${(naiveTraceS / traceS).toFixed(1)}× faster)`);
  console.log(`   dataset throughput      ${fastRate.toFixed(2)} prompts/s over ${nPrompts} prompts   (naive ${naiveRate.toFixed(3)} prompts/s over ${np}, ${(fastRate / naiveRate).toFixed(1)}× faster)`);
  await backend.dispose();
  ckpt.close();
}

async function main(): Promise<void> {
  const shapes = (arg('shapes', '130m') ?? '130m').split(',').map((s) => s.trim());
  const nPrompts = Number(arg('prompts', '8'));
  const naivePrompts = Number(arg('naive-prompts', '2'));
  const threads = arg('threads') !== undefined ? Number(arg('threads')) : undefined;
  const root = path.resolve(arg('dir', path.join(os.tmpdir(), 'mamba-explain-bench'))!);
  fs.mkdirSync(root, { recursive: true });
  console.log(`Knockout runner benchmark — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.version}`);
  for (const s of shapes) await benchShape(s, root, nPrompts, naivePrompts, threads);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
