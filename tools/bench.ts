// Knockout runner benchmark: random-weight checkpoints at published Mamba-2, Mamba-1 and transformer (gpt2, pythia-160m) shapes on the ORT CPU backend
// (default: mamba2-130m and mamba-130m, d_model 768, 24 layers, side by side).
// Prints trace latency (macro, k = 9, sets subject/relation/last, 12-token prompt), dataset throughput (8 prompts),
// and the naive way (one full forward per variant, batch 1) in the same run, as a ratio; then a dataset of prompts of
// mixed lengths (8–16 tokens) run one length per chunk and all lengths in one chunk, side by side.
//   npm run bench -- [--shapes 130m,m1-130m,1.3b,m1-1.4b] [--prompts 8] [--naive-prompts 8] [--threads N] [--dir FOLDER]
//                    [--ep cpu|webgpu|cuda] [--dtype float32|float16] [--max-batch N] [--checkpoint NAME=DIR]
//                    [--compare-ep cpu] [--fused on|off] [--prepare] [--tf32] [--no-extras] [--prompt-len N] [--gpu-memory]
//                    [--also-prompts COUNT[:MAXBATCH],…]
// --also-prompts runs more dataset figures on the same sessions (e.g. 128:16384: 128 prompts, calls of up to 16,384
// rows), so one session open serves them all;
// --checkpoint uses an existing checkpoint folder for a shape (e.g. one written by tools/make_random_hf_checkpoint.py);
// --compare-ep reruns the trace on a second provider (float32) and prints the largest differences (parity on the GPU);
// --fused on|off forces the chunk graph (clean forward + knockout rows + heads in one call) on or off (default: on for
// GPU providers).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../src/engine/checkpoint/index';
import { ensureOnnxCache } from '../src/engine/onnx/cache';
import type { ComputeDType } from '../src/engine/onnx/builder';
import { OrtBackend } from '../src/engine/runtime/ortBackend';
import { writeRandomTransformer } from '../test/helpers/transformerWriter';
import type { ExecutionProvider } from '../src/engine/types';
import { cleanForward, diffPct, runKnockouts, runVariantsNaive, topK, type CleanPrompt, type RunnerOptions, type Variant, type VariantResult } from '../src/engine/experiments/runner';
import { macroVariants } from '../src/engine/experiments/macro';
import { BUILDER_VERSION, describeConfig } from '../src/engine/onnx/builder';
import { decodeModel } from '../src/engine/onnx/proto';
import { applyCudaMathMode } from '../src/engine/runtime/tf32';
import { resolveFeatureParams, variantsPerGroup } from '../src/engine/experiments/features';
import { greedy } from '../src/engine/experiments/generate';
import * as softmaxPool from '../src/engine/experiments/softmaxPool';
import { runSteerSweep } from '../src/engine/experiments/steerSweep';
import { compileSteering } from '../src/engine/interventions/steering';
import { makeSession } from '../test/unit/experiments/fixtures';
import { writeRandomCheckpoint } from '../test/helpers/checkpointWriter';
import type { PromptPositions } from '../src/engine/experiments/positions';

/** Mamba-2 shapes (d_state 128, headdim 64) and Mamba-1 ones (m1-*: d_state 16, dt_rank ceil(d/16)), as published. */
const SHAPES: Record<string, { arch: 'mamba2' | 'mamba1' | 'gpt2' | 'gptneox'; dModel: number; nLayer: number; nHead?: number }> = {
  // the transformer baselines (SPEC §7): GPT-2 small and Pythia-160m
  gpt2: { arch: 'gpt2', dModel: 768, nLayer: 12, nHead: 12 },
  'pythia-160m': { arch: 'gptneox', dModel: 768, nLayer: 12, nHead: 12 },
  '130m': { arch: 'mamba2', dModel: 768, nLayer: 24 },
  '370m': { arch: 'mamba2', dModel: 1024, nLayer: 48 },
  '780m': { arch: 'mamba2', dModel: 1536, nLayer: 48 },
  '1.3b': { arch: 'mamba2', dModel: 2048, nLayer: 48 },
  '2.7b': { arch: 'mamba2', dModel: 2560, nLayer: 64 },
  // the 1.3b shape's layers, rows per prompt and vocabulary at d_model 128: the host-side (JS) work around a 1.3b chunk
  // call (masks, feeds, clean numbers), on a CPU in seconds; its throughput says nothing about the 1.3b model's
  'host-1.3b': { arch: 'mamba2', dModel: 128, nLayer: 48 },
  'm1-130m': { arch: 'mamba1', dModel: 768, nLayer: 24 },
  'm1-370m': { arch: 'mamba1', dModel: 1024, nLayer: 48 },
  'm1-1.4b': { arch: 'mamba1', dModel: 2048, nLayer: 48 },
};

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** prompt length (--prompt-len, default 12: a typical COUNTERFACT prompt) */
const N = Number(arg('prompt-len', '12'));
if (!Number.isInteger(N) || N < 6) throw new Error('--prompt-len must be an integer of at least 6');
const K = 9;
/** trace calls timed (best and median printed) */
const TRACE_RUNS = 5;
const SETS = ['subject', 'relation', 'last'];

function promptIds(p: number, vocab: number, n = N): Int32Array {
  let s = 1234 + p * 7919;
  return Int32Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % vocab);
}

/** subject = tokens 2..4, relation = the rest, last = n − 1 (a typical COUNTERFACT layout). */
function positions(n = N): PromptPositions {
  const subject = [2, 3, 4];
  return { n, subject, relation: Array.from({ length: n - 1 }, (_, i) => i).filter((i) => !subject.includes(i)), last: n - 1, subjectSpan: [0, 0] };
}

/** the token lengths of the mixed-length dataset figure: 8 prompts of 8–16 tokens, as COUNTERFACT's spread */
const MIXED_LENGTHS = [8, 9, 10, 11, 12, 13, 14, 16];

/** softmax probability of one id over the real vocabulary, float64 */
function probAt(logits: Float32Array, vocab: number, id: number): number {
  let m = -Infinity;
  for (let v = 0; v < vocab; v++) m = Math.max(m, logits[v]);
  let z = 0;
  for (let v = 0; v < vocab; v++) z += Math.exp(logits[v] - m);
  return Math.exp(logits[id] - m) / z;
}

/** The GPU's memory in use (MiB, nvidia-smi), sampled every 250 ms while `f` runs: [before, peak]; undefined without nvidia-smi. */
async function gpuMemory<T>(f: () => Promise<T>): Promise<[T, { before: number; peak: number } | undefined]> {
  const { execFile } = await import('node:child_process');
  const read = () =>
    new Promise<number | undefined>((done) =>
      execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { timeout: 2000 }, (err, out) => done(err ? undefined : Math.max(...out.trim().split('\n').map(Number)))),
    );
  const before = await read();
  if (before === undefined) return [await f(), undefined];
  let peak = before;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void read().then((v) => ((peak = Math.max(peak, v ?? peak)), (busy = false)));
  }, 250);
  try {
    const r = await f();
    peak = Math.max(peak, (await read()) ?? peak);
    return [r, { before, peak }];
  } finally {
    clearInterval(timer);
  }
}

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

interface BenchOptions {
  nPrompts: number;
  naivePrompts: number;
  threads?: number;
  ep: ExecutionProvider;
  dtype: ComputeDType;
  maxBatch?: number;
  compareEp?: ExecutionProvider;
  fused?: boolean;
  checkpoints: Map<string, string>;
  /** only write the checkpoints and their ONNX caches (e.g. on a GPU machine before the timed run) */
  prepare?: boolean;
  /** skip the feature / generation / steering figures */
  noExtras?: boolean;
  /** more dataset runs on the same sessions: COUNT[:MAXBATCH] each */
  alsoPrompts?: string[];
}

async function benchShape(name: string, root: string, o: BenchOptions): Promise<void> {
  const { nPrompts, naivePrompts, threads } = o;
  const shape = SHAPES[name];
  if (!shape && !o.checkpoints.has(name)) throw new Error(`unknown shape '${name}' (known: ${Object.keys(SHAPES).join(', ')})`);
  const transformer = shape?.arch === 'gpt2' || shape?.arch === 'gptneox';
  const dir = o.checkpoints.get(name) ?? path.join(root, transformer ? `${name}-random` : shape.arch === 'mamba1' ? `mamba-${name.slice(3)}-random` : `mamba2-${name}-random`);
  if (transformer && !fs.existsSync(path.join(dir, 'config.json'))) {
    process.stderr.write(`writing a random ${name}-shape checkpoint to ${dir} …\n`);
    writeRandomTransformer(dir, { arch: shape.arch as 'gpt2' | 'gptneox', dModel: shape.dModel, nLayer: shape.nLayer, nHead: shape.nHead!, vocabSize: shape.arch === 'gpt2' ? 50257 : 50304, dtype: 'float16', seed: 1 });
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    process.stderr.write(`writing a random ${name}-shape checkpoint to ${dir} …\n`);
    const t0 = Date.now();
    await writeRandomCheckpoint(dir, {
      arch: shape.arch as 'mamba2' | 'mamba1',
      format: 'state-spaces',
      weights: 'safetensors',
      dtype: 'float16',
      dModel: shape.dModel,
      nLayer: shape.nLayer,
      vocabSize: 50280,
      dState: shape.arch === 'mamba1' ? 16 : 128,
      headdim: 64,
      nGroups: 1,
      seed: 1,
    });
    process.stderr.write(`  written in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const ckpt = await openCheckpoint(dir);
  const [{ dir: cacheDir, manifest }, convS] = await time(async () => ensureOnnxCache(ckpt, { root: path.join(root, 'onnx'), dtype: o.dtype }));
  if (o.prepare) {
    console.log(`prepared ${name}: checkpoint ${dir}, ONNX cache ${cacheDir} (${convS.toFixed(1)} s)`);
    ckpt.close();
    return;
  }
  const [backend, openS] = await time(() => OrtBackend.open(ckpt, cacheDir, manifest, { ep: o.ep, threads, fusedSweep: o.fused }));
  const ropts: RunnerOptions = o.maxBatch ? { maxBatch: o.maxBatch } : {};
  const c = ckpt.config;
  const L = c.nLayer;
  const pos = positions();
  const variantsFor = (p: number): Variant[] => macroVariants(p, pos, [K], SETS, L).variants;
  console.log(`\n== ${name} shape: ${describeConfig(c)}`);
  console.log(`   ONNX cache ${convS.toFixed(1)} s (0 when cached), open ${openS.toFixed(1)} s, ep ${backend.ep}, compute ${o.dtype}, threads ${backend.threads}, max batch ${o.maxBatch ?? 'default'}, sweep ${backend.fusedSweep ? 'fused (chunk graph: clean forward + rows + heads in one call)' : `layer by layer${backend.fusedSweepError ? ` (chunk graph failed: ${backend.fusedSweepError})` : ''}`}`);
  if (manifest.chunk) {
    // the nodes ORT runs per chunk call (before its own fusions): launches, on a GPU, scale with them
    const graph = decodeModel(fs.readFileSync(path.join(cacheDir, manifest.chunk))).graph as { node?: unknown[] };
    const n = graph.node?.length ?? 0;
    console.log(`   chunk graph (builder v${BUILDER_VERSION}): ${n} nodes, ${(n / L).toFixed(1)} per layer`);
  }
  console.log(`   prompt ${N} tokens, window k=${K}, sets ${SETS.join('/')}: ${variantsFor(0).length} variants per prompt`);

  // warm-up (first ORT runs allocate)
  const p0: CleanPrompt[] = [{ ids: promptIds(0, c.vocabSize) }];
  await runKnockouts(backend, p0, variantsFor(0).slice(0, 4), ropts);

  const phase = (what: string) => process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${what}\n`);
  phase(`trace (best of ${TRACE_RUNS})`);
  // trace latency (clean forward + all variants): the best and the median of TRACE_RUNS (a GPU machine's host is noisy)
  const traceTimes: number[] = [];
  let traceRes: VariantResult[] = [];
  let clean0Base = 0;
  for (let r = 0; r < TRACE_RUNS; r++) {
    const [, s] = await time(async () => {
      const r = await runKnockouts(backend, p0, variantsFor(0), ropts);
      clean0Base = r.clean.baseProbs[0];
      traceRes = r.results;
    });
    traceTimes.push(s);
  }
  const traceS = Math.min(...traceTimes);
  const traceMedianS = [...traceTimes].sort((x, y) => x - y)[TRACE_RUNS >> 1];
  let naiveTraceS = NaN;
  if (naivePrompts > 0) {
    phase('naive trace');
    const clean0 = await cleanForward(backend, p0);
    [, naiveTraceS] = await time(() => runVariantsNaive(backend, p0, clean0.targets, variantsFor(0)));
  }

  phase(`dataset: ${nPrompts} prompts`);
  // dataset throughput: nPrompts prompts of equal length in one chunk
  // a dataset of `count` prompts of N tokens and all their variants
  const datasetOf = (count: number): { prompts: CleanPrompt[]; variants: Variant[] } => ({
    prompts: Array.from({ length: count }, (_, p) => ({ ids: promptIds(p, c.vocabSize) })),
    variants: Array.from({ length: count }, (_, p) => variantsFor(p)).flat(),
  });
  const { prompts, variants: all } = datasetOf(nPrompts);
  const runs0 = { ...backend.stats };
  const profile: Record<string, number> = {};
  const dsOpts = { ...ropts, profile };
  // --gpu-memory samples nvidia-smi during the run; the sampling itself slows CUDA runs (see docs/benchmarks.md)
  const runDs = () => time(async () => runKnockouts(backend, prompts, all, dsOpts));
  const [[, dsS], mem] = process.argv.includes('--gpu-memory') ? await gpuMemory(runDs) : [await runDs(), undefined];
  const dsRuns = backend.stats.runs - runs0.runs;
  const dsRunS = (backend.stats.runMs - runs0.runMs) / 1000;
  // naive dataset: per prompt, a clean forward + one full forward per variant
  const np = Math.min(naivePrompts, nPrompts);
  if (np > 0) phase('naive dataset');
  const [, naiveDsS] = await time(async () => {
    for (let p = 0; p < np; p++) {
      const pp = [prompts[p]];
      const cl = await cleanForward(backend, pp);
      await runVariantsNaive(backend, pp, cl.targets, variantsFor(0));
    }
  });
  const fastRate = nPrompts / dsS;
  const naiveRate = np / naiveDsS;
  const vsNaive = (naive: string, ratio: number) => (naivePrompts > 0 ? `   (naive ${naive}, ${ratio.toFixed(1)}× faster)` : '');
  console.log(`   trace latency           ${traceS.toFixed(3)} s (best of ${TRACE_RUNS}; median ${traceMedianS.toFixed(3)} s)${vsNaive(`${naiveTraceS.toFixed(3)} s`, naiveTraceS / traceS)}`);
  const refFile = path.join(dir, 'reference.json');
  if (fs.existsSync(refFile)) {
    // clean last-position probabilities vs the training framework's (tools/make_random_hf_checkpoint.py)
    const ref = JSON.parse(fs.readFileSync(refFile, 'utf8')) as { ids: number[]; top: { id: number; prob: number }[]; framework: string };
    const same = ref.ids.length === N && ref.ids.every((id, i) => id === p0[0].ids[i]);
    const cl = await cleanForward(backend, [{ ids: Int32Array.from(ref.ids) }], ropts);
    const ours = topK(cl.logits, 0, c.vocabSize, ref.top.length);
    const byId = new Map(ours.map((t) => [t.id, t.prob]));
    let maxDp = 0;
    for (const t of ref.top) maxDp = Math.max(maxDp, Math.abs((byId.get(t.id) ?? probAt(cl.logits, c.vocabSize, t.id)) - t.prob));
    console.log(`   vs ${ref.framework}${same ? '' : ' (other prompt)'}: top-${ref.top.length} ids ${ours.map((t) => t.id).join(',') === ref.top.map((t) => t.id).join(',') ? 'equal' : 'DIFFER'}, max |Δp| ${maxDp.toExponential(2)} (p1 ${ours[0].prob.toExponential(4)} vs ${ref.top[0].prob.toExponential(4)})`);
  }
  console.log(`   dataset throughput      ${fastRate.toFixed(2)} prompts/s over ${nPrompts} prompts${vsNaive(`${naiveRate.toFixed(3)} prompts/s over ${np}`, fastRate / naiveRate)}`);
  console.log(`      of which inside ORT run(): ${dsRunS.toFixed(2)} s in ${dsRuns} calls (${((1000 * dsRunS) / Math.max(1, dsRuns)).toFixed(1)} ms per call)`);
  if (mem && o.ep !== 'cpu') console.log(`      GPU memory in use (nvidia-smi): ${mem.peak} MiB at the peak of the dataset run (${mem.before} MiB before it, the sessions of this shape loaded)`);
  console.log(`      phases: ${Object.entries(profile).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')} (clean numbers on ${softmaxPool.lastThreads} thread${softmaxPool.lastThreads === 1 ? '' : 's'})`);
  // --also-prompts COUNT[:MAXBATCH],…: more dataset runs on the same sessions (one session open for several figures)
  for (const spec of o.alsoPrompts ?? []) {
    const [count, mb] = spec.split(':').map(Number);
    if (!(Number.isInteger(count) && count > 0) || (mb !== undefined && !(Number.isInteger(mb) && mb > 0))) throw new Error(`--also-prompts takes COUNT[:MAXBATCH],… (got '${spec}')`);
    phase(`dataset: ${count} prompts${mb ? `, max batch ${mb}` : ''}`);
    const { prompts: more, variants: vs } = datasetOf(count);
    const before = { ...backend.stats };
    const [, s] = await time(() => runKnockouts(backend, more, vs, mb ? { ...ropts, maxBatch: mb } : ropts));
    const runs = backend.stats.runs - before.runs;
    const runMs = backend.stats.runMs - before.runMs;
    console.log(`   dataset throughput      ${(count / s).toFixed(2)} prompts/s over ${count} prompts, max batch ${mb ?? o.maxBatch ?? 'default'} (${runs} ORT calls, ${(runMs / Math.max(1, runs)).toFixed(1)} ms per call; ${(s - runMs / 1000).toFixed(2)} s outside ORT run())`);
  }
  await benchMixedLengths(backend, L, ropts, (p) => promptIds(100 + p, c.vocabSize, MIXED_LENGTHS[p]), phase);
  // the extras (decay groups, recurrent generation, steering) are Mamba figures
  if (!o.noExtras && c.arch !== 'gpt2' && c.arch !== 'gptneox') await benchExtras(backend, ckpt, p0, variantsFor, ropts, root, name);
  await backend.dispose();
  if (o.compareEp) {
    phase(`parity: the trace again on ${o.compareEp} (float32)`);
    const ref = await ensureOnnxCache(ckpt, { root: path.join(root, 'onnx'), dtype: 'float32' });
    const rb = await OrtBackend.open(ckpt, ref.dir, ref.manifest, { ep: o.compareEp, threads });
    const { clean: rc, results: rr } = await runKnockouts(rb, p0, variantsFor(0));
    let maxDp = 0;
    let maxRel = 0;
    let maxDiffPct = 0;
    let top1Flips = 0;
    for (let i = 0; i < rr.length; i++) {
      const a = traceRes[i].prob;
      const b = rr[i].prob;
      maxDp = Math.max(maxDp, Math.abs(a - b));
      maxRel = Math.max(maxRel, Math.abs(a - b) / Math.max(b, 1e-30));
      maxDiffPct = Math.max(maxDiffPct, Math.abs(diffPct(clean0Base, a) - diffPct(rc.baseProbs[0], b)));
      if (traceRes[i].top1 !== rr[i].top1) top1Flips++;
    }
    console.log(`   parity vs ${rb.ep} float32 (trace, ${rr.length} variants): clean p ${clean0Base.toExponential(4)} vs ${rc.baseProbs[0].toExponential(4)}; max |Δp| ${maxDp.toExponential(2)}, max |Δp|/p ${maxRel.toExponential(2)}, max |Δ diff%| ${maxDiffPct.toExponential(2)} pp, top-1 flags differing ${top1Flips}`);
    await rb.dispose();
  }
  ckpt.close();
}

/**
 * Dataset throughput on prompts of different lengths (MIXED_LENGTHS), macro k = 9: one chunk per token length (how
 * dataset runs chunked before mixed-length batches: here every length has one prompt, so every chunk is one prompt)
 * against one chunk of all lengths (right-padded clean forward, left-padded knockout rows), best of 2 each, with the
 * largest difference between the two (the padding changes no number: 0 on the CPU).
 */
async function benchMixedLengths(backend: OrtBackend, L: number, ropts: RunnerOptions, idsOf: (p: number) => Int32Array, phase: (what: string) => void): Promise<void> {
  const P = MIXED_LENGTHS.length;
  const prompts: CleanPrompt[] = Array.from({ length: P }, (_, p) => ({ ids: idsOf(p) }));
  const variantsOf = (p: number, as: number): Variant[] => macroVariants(as, positions(MIXED_LENGTHS[p]), [K], SETS, L).variants;
  const byLength = new Map<number, number[]>();
  MIXED_LENGTHS.forEach((n, p) => byLength.set(n, [...(byLength.get(n) ?? []), p]));
  const perLength = async (): Promise<VariantResult[][]> => {
    const out: VariantResult[][] = new Array(P);
    for (const group of byLength.values()) {
      const vs = group.flatMap((p, i) => variantsOf(p, i));
      const rs = (await runKnockouts(backend, group.map((p) => prompts[p]), vs, ropts)).results;
      let k = 0;
      group.forEach((p) => (out[p] = rs.slice(k, (k += variantsOf(p, 0).length))));
    }
    return out;
  };
  const mixed = async (): Promise<VariantResult[][]> => {
    const rs = (await runKnockouts(backend, prompts, prompts.flatMap((_, p) => variantsOf(p, p)), ropts)).results;
    const out: VariantResult[][] = [];
    let k = 0;
    for (let p = 0; p < P; p++) out.push(rs.slice(k, (k += variantsOf(p, 0).length)));
    return out;
  };
  phase(`dataset of mixed lengths: ${P} prompts of ${Math.min(...MIXED_LENGTHS)}–${Math.max(...MIXED_LENGTHS)} tokens, per length and mixed`);
  const measure = async (f: () => Promise<VariantResult[][]>) => {
    let best = Infinity, calls = 0;
    let res: VariantResult[][] = [];
    for (let r = 0; r < 2; r++) {
      const runs0 = backend.stats.runs;
      const [out, sec] = await time(f);
      if (sec < best) [best, calls, res] = [sec, backend.stats.runs - runs0, out];
    }
    return { sec: best, calls, res };
  };
  const a = await measure(perLength);
  const b = await measure(mixed);
  let maxRel = 0;
  a.res.forEach((row, p) => row.forEach((x, i) => (maxRel = Math.max(maxRel, Math.abs(x.prob - b.res[p][i].prob) / Math.max(x.prob, 1e-30)))));
  console.log(
    `   mixed lengths           ${(P / a.sec).toFixed(2)} prompts/s one length per chunk (${a.calls} ORT calls) vs ${(P / b.sec).toFixed(2)} prompts/s mixed in one chunk (${b.calls} calls): ${(a.sec / b.sec).toFixed(2)}× — ${P} prompts of ${MIXED_LENGTHS.join(',')} tokens, max rel |Δp| between the two ${maxRel.toExponential(2)}`,
  );
}

/**
 * Feature knockout, generation and steering figures on the same backend (issues 11 and 12): a trace of three feature
 * groups (all, fast, slow) in one call beside a single-group trace; greedy generation tokens/s through the step graphs,
 * steered and not; steer-sweep throughput (prompts × scales per second).
 */
async function benchExtras(
  backend: OrtBackend,
  ckpt: Awaited<ReturnType<typeof openCheckpoint>>,
  p0: CleanPrompt[],
  variantsFor: (p: number) => Variant[],
  ropts: RunnerOptions,
  root: string,
  name: string,
): Promise<void> {
  const c = ckpt.config;
  const session = makeSession(backend, ckpt);
  // 1. feature groups: all + fast + slow in one call vs one group
  const groups = resolveFeatureParams(ckpt, 'all,fast,slow', 'except', 'keep')!;
  const single = variantsFor(0);
  const three = variantsPerGroup(groups, single);
  let t1 = Infinity, t3 = Infinity;
  for (let r = 0; r < 2; r++) {
    t1 = Math.min(t1, (await time(async () => runKnockouts(backend, p0, single, ropts)))[1]);
    t3 = Math.min(t3, (await time(async () => runKnockouts(backend, p0, three, ropts)))[1]);
  }
  console.log(`   feature knockout        trace of 3 groups (all, fast, slow; --feature-mode except) ${t3.toFixed(3)} s vs one group ${t1.toFixed(3)} s (${(t3 / t1).toFixed(2)}×)`);
  // 2. generation through the step graphs: 32 tokens after a 12-token prompt, clean and steered
  const prompt = Array.from(p0[0].ids);
  await greedy(session, prompt, 2, 1); // load the step graphs
  const [, gClean] = await time(() => greedy(session, prompt, 32, 5));
  backend.setSteering(compileSteering(c, [{ layer: Math.floor(c.nLayer * 0.8), channels: Array.from({ length: 16 }, (_, i) => i * 7), scale: 5 }]));
  const [, gSteer] = await time(() => greedy(session, prompt, 32, 5));
  backend.setSteering(undefined);
  console.log(`   generation              ${(32 / gClean).toFixed(1)} tokens/s clean, ${(32 / gSteer).toFixed(1)} steered (12-token prompt + 32 tokens, step graphs, batch 1)`);
  // 3. steer-sweep: 32 prompts × 6 scales
  const ds = path.join(root, `steer-sweep-${name}.json`);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'theta'];
  const rows = Array.from({ length: 32 }, (_, i) => ({ prompt: `${words[i % 8]} ${words[(i * 3) % 8]} is near the ${words[(i * 5) % 8]} of`, subject: words[i % 8], target_true: ' ' + words[(i + 1) % 8], target_false: ' x' }));
  fs.writeFileSync(ds, JSON.stringify(rows));
  const [sw, swS] = await time(() => runSteerSweep(session, { dataset: ds, layer: Math.floor(c.nLayer * 0.8), channels: Array.from({ length: 16 }, (_, i) => i * 7), scales: [0, 0.5, 1, 2, 5, 10] }));
  console.log(`   steer-sweep             ${((sw.prompts * sw.scales.length) / swS).toFixed(1)} prompt-scales/s (${sw.prompts} prompts × ${sw.scales.length} scales in ${swS.toFixed(2)} s, prefix below layer ${sw.layer} shared)`);
}

async function main(): Promise<void> {
  const shapes = (arg('shapes', '130m,m1-130m') ?? '130m,m1-130m').split(',').map((s) => s.trim());
  const checkpoints = new Map<string, string>();
  for (const spec of (arg('checkpoint') ?? '').split(',').filter(Boolean)) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new Error(`--checkpoint takes NAME=DIR (got '${spec}')`);
    checkpoints.set(spec.slice(0, eq), path.resolve(spec.slice(eq + 1)));
  }
  const opts: BenchOptions = {
    nPrompts: Number(arg('prompts', '8')),
    naivePrompts: Number(arg('naive-prompts', '2')),
    threads: arg('threads') !== undefined ? Number(arg('threads')) : undefined,
    ep: (arg('ep', 'cpu') ?? 'cpu') as ExecutionProvider,
    dtype: (arg('dtype', 'float32') ?? 'float32') as ComputeDType,
    maxBatch: arg('max-batch') !== undefined ? Number(arg('max-batch')) : undefined,
    compareEp: arg('compare-ep') as ExecutionProvider | undefined,
    fused: arg('fused') === undefined ? undefined : arg('fused') === 'on',
    checkpoints,
    prepare: process.argv.includes('--prepare'),
    noExtras: process.argv.includes('--no-extras'),
    alsoPrompts: arg('also-prompts')?.split(',').filter(Boolean),
  };
  // exact float32 on CUDA unless --tf32 (as the product: src/engine/runtime/tf32.ts), before any CUDA session
  const cudaMath = applyCudaMathMode(process.argv.includes('--tf32'));
  const root = path.resolve(arg('dir', path.join(os.tmpdir(), 'mamba-explain-bench'))!);
  fs.mkdirSync(root, { recursive: true });
  console.log(`Knockout runner benchmark — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.version}${opts.ep === 'cuda' ? `, CUDA float32 matrix products: ${cudaMath === 'tf32' ? 'TF32 (--tf32)' : 'exact (NVIDIA_TF32_OVERRIDE=0)'}` : ''}`);
  for (const s of shapes) await benchShape(s, root, opts);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
