// `mamba-explain trace`: macro attention-knockout curves for one prompt (SPEC §3), run in the engine worker.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command, CommandIO } from '../command';
import type { Options } from '../args';
import { EngineClient } from '../../engine/runtime/client';
import type { PredictResult } from '../../engine/runtime/methods';
import { compareFloat16, formatFloat16Parity } from '../../engine/runtime/float16Parity';
import { defaultModelDir, demoModelDir, parseEp, type SweepMode } from '../../engine/engine';
import { resolveModelRef } from '../../engine/hub/index';
import { UserError, type ProgressEvent } from '../../engine/types';
import type { ResultWarning, TraceResult } from '../../engine/experiments/resultTypes';
import { checkProviderChoice } from '../../engine/util/providers';
import { parseSets } from '../../engine/experiments/positions';
import { renderTrace } from '../../engine/experiments/render';
import type { TraceParams } from '../../engine/experiments/macro';
import { parseConvPath, type ConvPath } from '../../engine/interventions/spec';
import { parseSteer } from '../../engine/interventions/steering';
import { knockoutParams, runPromptExperiment } from '../promptExperiment';
import { COMPARE_HELP, COMPARE_OPTION } from '../compareOption';

/** Options every knockout command shares. */
export const ENGINE_OPTIONS = ['model', 'ep', 'tokenizer', 'backend', 'max-batch', 'dtype', 'sweep', 'device'];
/** The --model line of every command's help. */
export const MODEL_HELP =
  '  --model DIR|HUB-ID  a model folder (config.json, weights, tokenizer.json), a downloaded Hub id (see `mamba-explain download`),\n' +
  '                 or a bundled demo model by name: demo (Mamba-2, the default), demo-mamba1 (Mamba-1) or demo-transformer\n' +
  '                 (GPT-NeoX, the transformer baseline)';
export const ENGINE_HELP = [
  'Engine options:',
  MODEL_HELP,
  '  --tokenizer FILE   tokenizer.json to use instead of DIR/tokenizer.json',
  '  --ep auto|cpu|cuda|webgpu  execution provider (default auto: CUDA → WebGPU → CPU)',
  '  --device N         GPU index for the CUDA provider (default 0)',
  '  --tf32             CUDA: allow TF32 for float32 matrix products (faster, not exact; default: exact float32, NVIDIA_TF32_OVERRIDE=0)',
  '  --dtype float32|float16    compute precision (default float32; float16: GPU providers only)',
  '  --max-batch N      per backend call: whole prompts (default 64); knockout rows (chunk calls: 128 on the CPU, 2048 on WebGPU,',
  '                     8192 on CUDA, within a memory budget; layer by layer: 512, 2048 on a GPU)',
  '  --sweep auto|fused|layers  fused: a chunk of prompts in one call (clean forward, knockout rows through every layer, heads;',
  '                     the data stays on the GPU, the weights are loaded twice) or layers: one call per layer (default auto =',
  '                     fused on GPU providers and for models of ≤ 1 GiB of weights on the CPU)',
  '  --backend ort|reference    ONNX Runtime (default) or the float64 TypeScript oracle (slow)',
].join('\n');

/** --conv keep|block: the conv path of the knocked-out layers (SPEC §8). */
export const CONV_HELP =
  '  --conv keep|block  keep (default, the papers\' edge knockout): the depthwise conv1d still carries the 3 positions before the\n' +
  '                 last into it; block (complete knockout): also cut the conv taps from the blocked sources in the window\'s layers.';

export function convPath(opts: Options): ConvPath | undefined {
  const v = opts.string('conv');
  return v === undefined ? undefined : parseConvPath(v);
}

/** --tf32 and --device N (CUDA; see src/engine/runtime/tf32.ts). */
export function cudaOptions(opts: Options): { tf32?: boolean; device?: number } {
  const device = opts.int('device');
  if (device !== undefined && device < 0) throw new UserError(`--device must be a GPU index (0, 1, …), got ${device}`);
  return { ...(opts.flag('tf32') ? { tf32: true } : {}), ...(device !== undefined ? { device } : {}) };
}

/** --model: a folder, or a downloaded Hub id (`mamba-explain download ID`); default the bundled demo model. */
export function modelDir(opts: Options): string {
  const m = opts.string('model');
  return m !== undefined ? modelRef(m) : defaultModelDir();
}

/** A model reference: a shipped demo model by name (demo, demo-mamba1, demo-transformer), a folder, or a downloaded Hub id. */
export function modelRef(m: string): string {
  const dir = demoModelDir(m) ?? resolveModelRef(m);
  checkNotAFile(dir, m);
  return dir;
}

const MODEL_FILES = /^(config\.json|tokenizer\.json|.*\.safetensors|.*\.safetensors\.index\.json|pytorch_model\.bin|.*\.bin)$/;

/** `--model FILE` is one clear error (a model is a folder), naming the folder when the file is one of a model's. */
export function checkNotAFile(dir: string, given: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return; // a missing folder is reported when the model is opened
  }
  if (st.isDirectory()) return;
  const hint = MODEL_FILES.test(path.basename(dir)) ? ` (this one is in the model folder '${path.dirname(dir)}': pass that folder)` : '';
  throw new UserError(`--model '${given}' is a file, not a model folder: pass the folder that holds config.json, the weights and tokenizer.json${hint}`);
}

/** Prints a result's warnings on stderr, one line each (also with --json, where they are in the result too). */
export function printWarnings(io: CommandIO, warnings: readonly ResultWarning[] | undefined): void {
  for (const w of warnings ?? []) io.err(`mamba-explain: warning: ${w.message}`);
}

/** --dtype float32|float16: float16 compute graphs are a GPU-only option (--ep webgpu or cuda). */
export function computeDType(opts: Options): 'float32' | 'float16' | undefined {
  const v = opts.string('dtype');
  if (v === undefined) return undefined;
  if (v !== 'float32' && v !== 'float16') throw new UserError(`--dtype must be float32 or float16, got '${v}'`);
  return v;
}

/** --sweep auto|fused|layers (see OrtBackendOptions.fusedSweep). */
export function sweepMode(opts: Options): SweepMode | undefined {
  const v = opts.string('sweep');
  if (v === undefined) return undefined;
  if (v !== 'auto' && v !== 'fused' && v !== 'layers') throw new UserError(`--sweep must be auto, fused or layers, got '${v}'`);
  return v;
}

/** stderr progress line: done/total, rate, ETA (rewritten in place on a TTY). */
export function progressPrinter(io: CommandIO, unit: string): (p: ProgressEvent) => void {
  let lastPrint = 0;
  const tty = !!process.stderr.isTTY;
  return (p) => {
    const now = Date.now();
    if (p.done < p.total && now - lastPrint < (tty ? 100 : 2000)) return;
    lastPrint = now;
    const rate = p.rate !== undefined ? `  ${p.rate.toFixed(p.rate < 10 ? 2 : 1)} ${unit}/s` : '';
    const eta = p.etaSeconds !== undefined && p.done < p.total ? `  ETA ${formatSeconds(p.etaSeconds)}` : '';
    const line = `${p.done}/${p.total} ${unit}${rate}${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.done >= p.total ? '\n' : ''}`);
    else io.err(line);
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The engine worker's start options from the engine options (--model, --ep, --device, …), checked; dtype apart. */
export function engineStart(opts: Options) {
  const dir = modelDir(opts);
  const backend = opts.string('backend');
  if (backend !== undefined && backend !== 'ort' && backend !== 'reference') throw new UserError(`--backend must be ort or reference, got '${backend}'`);
  const tok = opts.string('tokenizer');
  const dtype = computeDType(opts);
  if (backend !== 'reference') checkProviderChoice(parseEp(opts.string('ep')), dtype);
  const start = {
    modelDir: dir,
    ep: parseEp(opts.string('ep')),
    tokenizerFile: tok ? path.resolve(tok) : undefined,
    backend: backend as 'ort' | 'reference' | undefined,
    sweep: sweepMode(opts),
    ...cudaOptions(opts),
  };
  return { start, dtype };
}

/** Starts the engine worker on --model, runs `fn`, always disposes the worker. With --dtype float16 and a --prompt,
 *  the prompt's prediction is also computed in float32 and the difference printed (and added to the result). */
export async function withEngine<R>(opts: Options, io: CommandIO, fn: (client: EngineClient) => Promise<R>): Promise<R> {
  const { start, dtype } = engineStart(opts);
  const client = await EngineClient.start({ ...start, computeDType: dtype, onProgress: io.json ? undefined : progressPrinter(io, 'steps (opening model)') });
  let result: R;
  let p16: PredictResult | undefined;
  let tf32Parity: ReturnType<typeof compareFloat16> | undefined;
  const prompt = opts.string('prompt');
  try {
    result = await fn(client);
    if (dtype === 'float16' && prompt) p16 = await client.call<PredictResult>('predict', { prompt, top: 50 }, { signal: io.signal });
    // TF32 on CUDA: the error against exact float32 (computed on the CPU: the CUDA libraries of this process keep TF32)
    else if (client.info.cudaMath === 'tf32' && prompt) {
      const pTf = await client.call<PredictResult>('predict', { prompt, top: 50 }, { signal: io.signal });
      const ref = await EngineClient.start({ ...start, ep: 'cpu', computeDType: 'float32', onProgress: io.json ? undefined : progressPrinter(io, 'steps (float32 reference on the CPU)') });
      try {
        const parity = compareFloat16(prompt, pTf, await ref.call<PredictResult>('predict', { prompt, top: 5 }, { signal: io.signal }));
        io.err(formatFloat16Parity(parity, 'TF32 on CUDA', 'float32 on the CPU'));
        tf32Parity = parity;
      } finally {
        await ref.dispose();
      }
    }
  } finally {
    await client.dispose();
  }
  if (tf32Parity && result !== null && typeof result === 'object') (result as Record<string, unknown>).tf32Parity = tf32Parity;
  if (p16 && prompt) {
    const ref = await EngineClient.start({ ...start, computeDType: 'float32', onProgress: io.json ? undefined : progressPrinter(io, 'steps (float32 reference)') });
    try {
      const p32 = await ref.call<PredictResult>('predict', { prompt, top: 5 }, { signal: io.signal });
      const parity = compareFloat16(prompt, p16, p32);
      io.err(formatFloat16Parity(parity));
      if (result !== null && typeof result === 'object') (result as Record<string, unknown>).float16Parity = parity;
    } finally {
      await ref.dispose();
    }
  }
  return result;
}

export function maxBatch(opts: Options): number | undefined {
  const m = opts.int('max-batch');
  if (m !== undefined && m < 1) throw new UserError(`--max-batch must be ≥ 1, got ${m}`);
  return m;
}

/** JSON shape of `trace --json`: single window flattened; several windows under "windows". */
export function traceJson(r: TraceResult): unknown {
  const head = { target: r.target, baseProb: r.baseProb, subjectPositions: r.subjectPositions };
  const wins = r.windows.map((w) => ({ ...head, window: w.window, starts: w.starts, curves: w.curves }));
  // several feature groups: each group with its windows, and its curves when there is one window
  const groups = r.groups?.map((g) => ({ ...g, ...(g.windows.length === 1 ? { starts: g.windows[0].starts, curves: g.windows[0].curves } : {}) }));
  const out = { ...r, windows: wins, ...(groups ? { groups } : {}) };
  if (wins.length === 1 && !groups) return { ...out, ...wins[0], windows: wins };
  return out;
}

/** --steer L:CHANNELS:S (repeatable) → the worker's `steer` param, checked here for a one-line error before any work. */
export function steerParams(opts: Options): { steer?: string[] } {
  const steer = opts.strings('steer');
  for (const s of steer) parseSteer(s);
  return steer.length ? { steer } : {};
}

/** --features G[,G…] and --feature-mode only|except (feature knockout, SPEC §4). */
export const FEATURE_HELP =
  '  --features G[,G…]  restrict the knockout to a feature group (Mamba-2 heads, Mamba-1 channels): all, fast, middle, slow\n' +
  '                 (thirds by decay score, see `mamba-explain features`), heads:LIST or channels:LIST (LIST = 3,5,8-11); several\n' +
  '                 groups are computed in the same call ("groups" in the JSON). --feature-mode only (default: cut the edges in\n' +
  "                 the group's features) or except (in every feature but the group's; the Mamba Knockout paper's code).";

export function featureParams(opts: Options): { features?: string; featureMode?: 'only' | 'except' } {
  const features = opts.string('features');
  const mode = opts.string('feature-mode');
  return { ...(features !== undefined ? { features } : {}), ...(mode !== undefined ? { featureMode: mode as 'only' | 'except' } : {}) };
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'macro attention knockout: subject / relation / last curves for one prompt',
  usage: [
    'mamba-explain trace [--model DIR|HUB-ID] --prompt TEXT --subject TEXT [--target TEXT] [--window K[,K…]]',
    '                    [--sets subject,relation,last,first,all,custom:P+P…] [--conv keep|block] [--compare-model M2[,M3…]]',
    '                    [--ep auto|cpu|cuda|webgpu] [--json]',
    '',
    'Blocks the edges (last ← c) for every c of a source set, in every head of layers ℓ … ℓ+K−1, for each start ℓ = 0 … L−K,',
    'and reports p′ of the target and diff% = (p′ − p)/p · 100.',
    '  --target TEXT  the target word; a leading space is added when missing (\'Paris\' → \' Paris\'), its first token is the target.',
    '                 Default: the model\'s clean top-1 prediction.',
    '  --window K     window sizes (default: 9 on models of 24+ layers, else a quarter and a half of the depth, e.g. 2,4 on the',
    '                 8-layer demo model). K larger than the layer count is an error.',
    '  --sets …       source sets (default subject,relation,last); also first, all, custom:P+P… (0-based positions)',
    CONV_HELP,
    FEATURE_HELP,
    COMPARE_HELP,
    '',
    ENGINE_HELP,
  ].join('\n'),
  options: ['prompt', 'subject', 'target', 'window', 'sets', 'conv', 'features', 'feature-mode', 'steer', COMPARE_OPTION, ...ENGINE_OPTIONS],
  async run(opts, io) {
    const params: TraceParams = {
      prompt: opts.required('prompt'),
      subject: opts.required('subject'),
      target: opts.string('target'),
      windows: opts.intList('window'),
      sets: parseSets(opts.string('sets')),
      ...knockoutParams(opts),
    };
    return runPromptExperiment<TraceResult>('trace', params, opts, io, { render: renderTrace, json: traceJson });
  },
};

export default traceCommand;
