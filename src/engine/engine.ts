// Opens a model folder for the engine: checkpoint + tokenizer + ONNX cache + backend, with provenance (identity).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from './checkpoint/index';
import { loadTokenizer } from './tokenizer/index';
import { ensureOnnxCache } from './onnx/cache';
import { OrtBackend } from './runtime/ortBackend';
import { ReferenceBackend } from './reference/referenceBackend';
import { UserError } from './types';
import { applyCudaMathMode } from './runtime/tf32';
import { checkProviderChoice } from './util/providers';
import type { Checkpoint, EngineSession, ExecutionProviderChoice, ModelBackend, ProgressEvent } from './types';

export interface OpenSessionOptions {
  ep?: ExecutionProviderChoice;
  /** tokenizer.json to use instead of <modelDir>/tokenizer.json */
  tokenizerFile?: string;
  /** 'float16' compute graphs are a GPU-only option */
  computeDType?: 'float32' | 'float16';
  /** root of the ONNX cache (default $MAMBA_EXPLAIN_CACHE/onnx or ~/.cache/mamba-explain/onnx) */
  cacheRoot?: string;
  /** intra-op threads of the ORT sessions */
  threads?: number;
  /** clean forward + knockout rows through the chunk graph (fused) or layer by layer; auto = OrtBackendOptions.fusedSweep's default */
  sweep?: SweepMode;
  /** 'reference': the float64 TypeScript oracle instead of ONNX Runtime (tests, tiny models) */
  backend?: 'ort' | 'reference';
  /** CUDA: allow TF32 for float32 matrix products (faster, not exact); default off (NVIDIA_TF32_OVERRIDE=0, see runtime/tf32.ts) */
  tf32?: boolean;
  /** GPU index for the CUDA provider (default 0) */
  device?: number;
  onProgress?: (p: ProgressEvent) => void;
}

export type SweepMode = 'auto' | 'fused' | 'layers';

const EP_CHOICES = ['auto', 'cuda', 'webgpu', 'cpu'];

export function parseEp(value: string | undefined): ExecutionProviderChoice {
  const v = (value ?? 'auto').toLowerCase();
  if (!EP_CHOICES.includes(v)) throw new UserError(`--ep must be one of ${EP_CHOICES.join(', ')}, got '${value}'`);
  return v as ExecutionProviderChoice;
}

export async function openEngineSession(modelDir: string, opts: OpenSessionOptions = {}): Promise<EngineSession> {
  const dir = resolve(modelDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`model folder ${dir} does not exist`);
  const tokFile = resolve(opts.tokenizerFile ?? join(dir, 'tokenizer.json'));
  if (!existsSync(tokFile)) {
    throw new UserError(
      opts.tokenizerFile ? `tokenizer file ${tokFile} does not exist` : `no tokenizer.json in ${dir}: pass --tokenizer FILE (the gpt-neox-20b tokenizer.json)`,
    );
  }
  const computeDType = opts.computeDType ?? 'float32';
  // float16 without a GPU provider fails here, before any conversion (the extension opens sessions this way too)
  if (opts.backend !== 'reference') checkProviderChoice(opts.ep ?? 'auto', computeDType);
  const cudaMath = applyCudaMathMode(opts.tf32);
  if (opts.device !== undefined && !(Number.isInteger(opts.device) && opts.device >= 0)) throw new UserError(`--device must be a GPU index (0, 1, …), got ${opts.device}`);
  const ckpt: Checkpoint = await openCheckpoint(dir);
  let backend: ModelBackend | undefined;
  try {
    const tokenizer = await loadTokenizer(tokFile);
    if (tokenizer.vocabSize > ckpt.config.paddedVocabSize) {
      throw new UserError(`tokenizer ${tokFile} has ${tokenizer.vocabSize} tokens but the model ${dir} only ${ckpt.config.paddedVocabSize} embedding rows: wrong tokenizer?`);
    }
    if (opts.backend === 'reference') {
      backend = new ReferenceBackend(ckpt);
    } else {
      const { dir: cacheDir, manifest } = ensureOnnxCache(ckpt, { dtype: computeDType, root: opts.cacheRoot, onProgress: opts.onProgress });
      // MAMBA_EXPLAIN_TEST_CPU_FLOAT16=1 lets the tests run float16 graphs on the CPU (ORT can, slowly); users get a GPU-only error
      const allowCpuFloat16 = process.env.MAMBA_EXPLAIN_TEST_CPU_FLOAT16 === '1';
      const fusedSweep = opts.sweep === 'fused' ? true : opts.sweep === 'layers' ? false : undefined;
      backend = await OrtBackend.open(ckpt, cacheDir, manifest, { ep: opts.ep ?? 'auto', threads: opts.threads, allowCpuFloat16, fusedSweep, device: opts.device });
    }
    const c = ckpt.config;
    return {
      modelDir: dir,
      checkpoint: ckpt,
      tokenizer,
      backend,
      computeDType,
      ...(backend.ep === 'cuda' ? { cudaMath, device: opts.device ?? 0 } : {}),
      identity: {
        path: dir,
        hash: ckpt.hash,
        format: c.format,
        arch: c.arch,
        ...(c.arch === 'mamba1' ? { variant: c.variant } : {}),
        dModel: c.dModel,
        nLayer: c.nLayer,
        storedDType: ckpt.storedDType,
        tokenizer: { file: tokFile, sha256: createHash('sha256').update(readFileSync(tokFile)).digest('hex') },
      },
    };
  } catch (e) {
    await backend?.dispose();
    ckpt.close();
    throw e;
  }
}

export async function closeEngineSession(s: EngineSession): Promise<void> {
  await s.backend.dispose();
  s.checkpoint.close();
}

/** The package root (folder of mamba-explain's package.json), from dist/ or from the sources. */
export function packageRoot(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'mamba-explain') return d;
      } catch {
        /* keep looking */
      }
    }
    d = join(d, '..');
  }
  return join(__dirname, '..');
}

/** `--model` default: the demo model shipped inside the package (Mamba-2). */
export function defaultModelDir(): string {
  return join(packageRoot(), 'models', 'demo');
}

/** The demo models shipped inside the package, by the names `--model` accepts for them. */
export const DEMO_MODELS: Record<string, string> = { demo: 'demo', 'demo-mamba2': 'demo', 'demo-mamba1': 'demo-mamba1', 'demo-transformer': 'demo-transformer' };

/** The folder of a shipped demo model by name (see DEMO_MODELS), or undefined. */
export function demoModelDir(name: string): string | undefined {
  const folder = DEMO_MODELS[name];
  return folder === undefined ? undefined : join(packageRoot(), 'models', folder);
}
