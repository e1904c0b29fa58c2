// ModelBackend on onnxruntime-node: one session per layer graph plus one head session, created by PATH so that
// ORT finds the external weights file beside the .onnx files. The embedding lookup happens here in TypeScript.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { BackendHints, Checkpoint, ChunkCall, ChunkCallResult, ContextTensorSpec, ExecutionProvider, ExecutionProviderChoice, HeadTargetStats, LayerContextBatch, LayerContextRows, ModelBackend, ModelConfig } from '../types';
import { familyOf } from '../arch/index';
import { Embedder } from '../arch/embedding';
import { UserError } from '../types';
import type { OnnxManifest } from '../onnx/cache';

export const CUDA_HELP =
  "onnxruntime-node's CUDA execution provider libraries are not bundled with the npm package. Install CUDA 12.x and cuDNN 9, " +
  'then reinstall onnxruntime-node so that its install script fetches the CUDA binaries: ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (same as `npm install onnxruntime-node --onnxruntime-node-install=cuda12`, ' +
  'i.e. npm_config_onnxruntime_node_install=cuda12; older switch: --onnxruntime-node-install-cuda). Or use --ep cpu.';
/** On the CPU, `fusedSweep` defaults to on for models whose weights.bin is at most this (the second copy is cheap there). */
export const CPU_FUSED_SWEEP_MAX_BYTES = 1 << 30;
export const WEBGPU_HELP =
  'the WebGPU execution provider is not available in this build of onnxruntime-node or no WebGPU adapter was found ' +
  '(on Linux it needs the Vulkan loader: Debian/Ubuntu package libvulkan1, and a Vulkan driver). Use --ep cpu.';

export interface OrtBackendOptions {
  ep: ExecutionProviderChoice;
  /** intra-op threads per CPU or WebGPU session (default: available cores); CUDA sessions take CUDA_INTRA_OP_THREADS */
  threads?: number;
  /** tests only: run float16 compute graphs on the CPU (ORT can, slowly; the product keeps them GPU-only) */
  allowCpuFloat16?: boolean;
  /** pad batches to a few bucket sizes (default: on GPU providers, off on the CPU); see paddedBatch */
  padBatches?: boolean;
  /**
   * load the chunk graph (clean forward + knockout rows + heads in one session, see onnx/chunkGraph.ts) and run
   * knockouts through it (chunkKnockouts). It holds a second copy of the weights. Default: on GPU providers, where
   * every call's inputs and outputs cross host memory; on the CPU only for models whose weights take at most
   * CPU_FUSED_SWEEP_MAX_BYTES (fewer calls are faster there too, and large models keep their RAM).
   */
  fusedSweep?: boolean;
  /** GPU index for the CUDA provider (default 0) */
  device?: number;
}

// ORT's environment logger prints provider-load failures (e.g. the missing CUDA libraries while `auto` probes) to stderr;
// those failures are reported through exceptions, so keep the native log quiet unless debugging.
if (!process.env.MAMBA_EXPLAIN_DEBUG) ort.env.logLevel = 'fatal';

function sessionOptions(ep: ExecutionProvider, threads: number, device?: number): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep === 'cuda' && device !== undefined ? { name: 'cuda', deviceId: device } : ep],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // one arena per session would keep each layer's peak activations alive: with 48 layer sessions and batches of ~100
    // prompts that is gigabytes. Plain malloc/free per run keeps memory at the weights plus one layer's activations.
    enableCpuMemArena: false,
    logSeverityLevel: process.env.MAMBA_EXPLAIN_ORT_LOG ? (Number(process.env.MAMBA_EXPLAIN_ORT_LOG) as 0 | 1 | 2 | 3 | 4) : 3,
    // benchmark diagnostics: per-node timings (and the provider each node ran on) as JSON traces with this prefix
    ...(process.env.MAMBA_EXPLAIN_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.MAMBA_EXPLAIN_ORT_PROFILE } : {}),
    ...optimizedModelDump(),
  };
  const extra = extraConfigEntries();
  if (extra) o.extra = { ...(o.extra as Record<string, string> | undefined), ...extra };
  return o;
}

/**
 * Benchmark diagnostics: MAMBA_EXPLAIN_ORT_EXTRA="key=value;key=value" adds ORT session config entries (for example
 * ep.webgpuexecutionprovider.maxNumPendingDispatches=64, or ep.webgpuexecutionprovider.enableInt64=1).
 */
function extraConfigEntries(): Record<string, string> | undefined {
  const spec = process.env.MAMBA_EXPLAIN_ORT_EXTRA;
  if (!spec) return undefined;
  return Object.fromEntries(
    spec
      .split(';')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
  );
}

let optimizedDumps = 0;
/**
 * Benchmark diagnostics: with MAMBA_EXPLAIN_ORT_OPTIMIZED=<prefix>, each session writes the graph ORT runs (after its
 * optimisations and, on a GPU, with its host/device copies) to <prefix>-<n>.onnx, weights in <prefix>-<n>.bin beside it
 * (tools/onnx-memcpy.ts reads it).
 */
function optimizedModelDump(): Partial<ort.InferenceSession.SessionOptions> {
  const prefix = process.env.MAMBA_EXPLAIN_ORT_OPTIMIZED;
  if (!prefix) return {};
  const n = optimizedDumps++;
  return {
    optimizedModelFilePath: `${prefix}-${n}.onnx`,
    extra: { 'session.optimized_model_external_initializers_file_name': `${basename(prefix)}-${n}.bin`, 'session.optimized_model_external_initializers_min_size_in_bytes': '1024' },
  };
}

/**
 * On Linux, ORT's WebGPU provider (Dawn) needs the Vulkan loader; without it the probe fails anyway and Dawn prints a
 * warning to stderr, so `auto` skips WebGPU there. An explicit --ep webgpu still tries.
 */
export function webgpuPlausible(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** `a` grown to `len` values with `fill` (the padding rows of a bucketed batch); `a` itself when already that long. */
function padTo(a: Float32Array, len: number, fill = 0): Float32Array {
  if (a.length === len) return a;
  const o = new Float32Array(len).fill(fill);
  o.set(a);
  return o;
}

/** Creates a session on exactly one EP; throws when that EP can't be used (never silently falls back). */
let deviceIndex: number | undefined;
async function createOn(path: string, ep: ExecutionProvider, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, sessionOptions(ep, threads, deviceIndex));
}

/**
 * ORT intra-op threads of a CUDA session. Its CPU nodes are shape arithmetic, and a launch-bound call (a trace) is as
 * fast as the one thread that launches the kernels: on the H200 at the 1.3b shape, the trace took 0.053 / 0.068 s with
 * 1 thread against 0.077 / 0.079 s with 16, and 128 prompts ran at 105.0 against 96.1 prompts/s (docs/benchmarks.md).
 * MAMBA_EXPLAIN_CUDA_THREADS overrides it (benchmarks).
 */
const CUDA_INTRA_OP_THREADS = Math.max(1, Number(process.env.MAMBA_EXPLAIN_CUDA_THREADS) || 1);

/** The intra-op threads of a session on `ep`: CUDA_INTRA_OP_THREADS on CUDA, else `requested` or every core. */
export function intraOpThreads(ep: ExecutionProvider, requested?: number): number {
  return ep === 'cuda' ? CUDA_INTRA_OP_THREADS : Math.max(1, requested ?? availableParallelism());
}

/** Batching on GPU providers (every call's inputs and outputs cross host memory) and on the CPU. */
const GPU_HINTS: BackendHints = { lastRowBatch: 2048, callBytes: 4 * 1024 * 1024 * 1024, chunkRows: 8192, datasetChunk: 64 };
/**
 * WebGPU: chunk calls of ~2,048 rows (about 17 prompts of 120 variants). On the H200 at the 1.3b shape, builder v23
 * (products as MatMul), 64 prompts: 512-row calls 15.4–20.8 prompts/s, 1,024 28.2, 1,536 26.8, 2,048 30.5–33.0,
 * 3,072 23.2, 4,096 23.0 (docs/benchmarks.md, "Builder v23"). Builder v13's Gemm products had peaked at 512 rows.
 */
const WEBGPU_HINTS: BackendHints = { ...GPU_HINTS, chunkRows: 2048 };
/** CPU chunk calls of ~128 rows: on 2 cores at the 130m shape 64–128 rows ran at 5.5 prompts/s, 384 rows at 4.5 (caches) */
const CPU_HINTS: BackendHints = { lastRowBatch: 512, callBytes: 512 * 1024 * 1024, chunkRows: 128, datasetChunk: 8 };

export class OrtBackend implements ModelBackend {
  readonly config: ModelConfig;
  readonly hints: BackendHints;
  private layerSessions: (ort.InferenceSession | undefined)[];
  private rowSessions: (ort.InferenceSession | undefined)[];
  private readonly ctxSpec: ContextTensorSpec[];
  private readonly units: number;
  private readonly embedder: Embedder;
  /** whether the layer graphs read the positions of their rows (rotary) */
  private readonly usesPositions: boolean;
  /** context positions of a whole-prompt call: 1 all-zero one (Mamba) or none (attention) */
  private readonly zeroRow: number;
  /** the chunk graph (buildChunkGraph): a chunk's clean forward and knockout rows in one call */
  private chunk?: ort.InferenceSession;
  /** why the chunk graph could not be loaded, when fusedSweep was asked for and failed */
  fusedSweepError?: string;
  private ones = new Map<string, ort.Tensor>();
  private disposed = false;

  private constructor(
    private readonly ckpt: Checkpoint,
    private readonly dir: string,
    private readonly manifest: OnnxManifest,
    readonly ep: ExecutionProvider,
    /** ORT intra-op threads of each session */
    readonly threads: number,
    private readonly head: ort.InferenceSession,
  ) {
    this.config = ckpt.config;
    this.hints = ep === 'cpu' ? CPU_HINTS : ep === 'webgpu' ? WEBGPU_HINTS : GPU_HINTS;
    this.layerSessions = new Array(manifest.layers.length).fill(undefined);
    this.rowSessions = new Array(manifest.layers.length).fill(undefined);
    const family = familyOf(ckpt.config);
    this.ctxSpec = family.contextSpec(ckpt.config);
    this.units = family.attentionUnits(ckpt.config).count;
    this.embedder = new Embedder(ckpt);
    this.usesPositions = family.usesPositions;
    this.zeroRow = family.zeroContextRow ? 1 : 0;
  }

  /**
   * Opens the graphs of a cache folder. `auto` tries cuda → webgpu → cpu and keeps the first that creates a session;
   * an explicit EP is used alone, and its failure is a UserError.
   */
  static async open(ckpt: Checkpoint, dir: string, manifest: OnnxManifest, opts: OrtBackendOptions): Promise<OrtBackend> {
    if (opts.device !== undefined && opts.device !== 0 && opts.ep === 'webgpu') {
      throw new UserError('--device picks the GPU of the CUDA provider; onnxruntime-node cannot choose a WebGPU adapter (it takes the first one Dawn finds)');
    }
    // one engine per worker: the device applies to every session this backend creates
    deviceIndex = opts.device;
    const order: ExecutionProvider[] = opts.ep === 'auto' ? (webgpuPlausible() ? ['cuda', 'webgpu', 'cpu'] : ['cuda', 'cpu']) : [opts.ep];
    const f16NoCpu = manifest.computeDType === 'float16' && !opts.allowCpuFloat16;
    if (f16NoCpu && opts.ep === 'cpu') {
      throw new UserError('float16 compute graphs are a GPU-only option: use --ep cuda or --ep webgpu, or float32 compute on the CPU');
    }
    const errors: string[] = [];
    for (const ep of order) {
      if (ep === 'cpu' && f16NoCpu) break;
      const threads = intraOpThreads(ep, opts.threads);
      try {
        const head = await createOn(join(dir, manifest.head), ep, threads);
        const b = new OrtBackend(ckpt, dir, manifest, ep, threads, head);
        b.padBatches = opts.padBatches ?? ep !== 'cpu';
        // load every layer now, so the first experiment batch doesn't pay for it and EP problems show up at open
        for (let i = 0; i < manifest.layers.length; i++) await b.session(i);
        if (opts.fusedSweep ?? (ep !== 'cpu' || manifest.weightsBytes <= CPU_FUSED_SWEEP_MAX_BYTES)) {
          try {
            b.chunk = await createOn(join(dir, manifest.chunk), ep, threads);
          } catch (e) {
            // asked for explicitly (--sweep fused): an error; by default (e.g. no room on the device for the second
            // copy of the weights) the layer-by-layer sweep still works, and the reason is reported (SessionInfo)
            if (opts.fusedSweep === true) throw new UserError(`--sweep fused: the chunk graph cannot be loaded on ${ep} (${(e as Error).message.split('\n')[0]}); use --sweep layers or auto`);
            b.fusedSweepError = (e as Error).message.split('\n')[0];
          }
        }
        return b;
      } catch (e) {
        if (e instanceof UserError) throw e;
        errors.push(`${ep}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (opts.ep === 'cuda') throw new UserError(`cannot use the CUDA execution provider (${errors[0]}). ${CUDA_HELP}`);
    if (opts.ep === 'webgpu') throw new UserError(`cannot use the WebGPU execution provider (${errors[0]}). ${WEBGPU_HELP}`);
    throw new UserError(`no execution provider could open the ONNX graphs in ${dir}: ${errors.join('; ')}`);
  }

  private async session(i: number): Promise<ort.InferenceSession> {
    if (this.disposed) throw new Error('backend disposed');
    let s = this.layerSessions[i];
    if (!s) {
      if (i < 0 || i >= this.layerSessions.length) throw new RangeError(`layer ${i} out of range [0, ${this.layerSessions.length})`);
      s = await createOn(join(this.dir, this.manifest.layers[i]), this.ep, this.threads);
      this.layerSessions[i] = s;
    }
    return s;
  }

  /** The session that computes knockout rows of layer i: its row graph (loaded on first use) or its layer graph. */
  private async rowSession(i: number): Promise<ort.InferenceSession> {
    const rows = this.manifest.rows;
    if (!rows) return this.session(i);
    if (this.disposed) throw new Error('backend disposed');
    let s = this.rowSessions[i];
    if (!s) {
      if (i < 0 || i >= rows.length) throw new RangeError(`layer ${i} out of range [0, ${rows.length})`);
      s = await createOn(join(this.dir, rows[i]), this.ep, this.threads);
      this.rowSessions[i] = s;
    }
    return s;
  }

  private stepSessions: (ort.InferenceSession | undefined)[] = [];

  /** ModelBackend.step through layer i's step graph (loaded on first use). */
  async step(index: number, hidden: Float32Array, batch: number, convState: Float32Array, ssmState: Float32Array) {
    const c = this.config;
    const family = familyOf(c);
    if (!family.stateShape) throw new UserError(`${family.label(c)} has no recurrent state`);
    const st = family.stateShape(c);
    const convN = st.conv[0] * st.conv[1];
    const ssmN = st.ssm.reduce((a, b) => a * b, 1);
    if (hidden.length !== batch * c.dModel || convState.length !== batch * convN || ssmState.length !== batch * ssmN) {
      throw new RangeError('step: hidden, convState or ssmState do not match batch × shapes');
    }
    if (this.disposed) throw new Error('backend disposed');
    let s = this.stepSessions[index];
    if (!s) {
      const file = this.manifest.steps?.[index];
      if (!file) throw new RangeError(`no step graph for layer ${index}`);
      s = await createOn(join(this.dir, file), this.ep, this.threads);
      this.stepSessions[index] = s;
    }
    const out = await this.timedRun(
      s,
      {
        hidden: new ort.Tensor('float32', hidden, [batch, c.dModel]),
        conv_state: new ort.Tensor('float32', convState, [batch, ...st.conv]),
        ssm_state: new ort.Tensor('float32', ssmState, [batch, ...st.ssm]),
        out_scale: this.scaleFeed(index),
      },
      ['hidden_out', 'conv_state_out', 'ssm_state_out'],
    );
    return { hidden: out.hidden_out.data as Float32Array, convState: out.conv_state_out.data as Float32Array, ssmState: out.ssm_state_out.data as Float32Array };
  }

  /** Rows of a context tensor: K−1 for `conv` tensors, `prefix` for the others. */
  private ctxRows(s: ContextTensorSpec, prefix: number): number {
    return s.rows === 'conv' ? this.config.dConv - 1 : prefix;
  }

  async embed(ids: Int32Array, batch: number, seqLen: number): Promise<Float32Array> {
    return this.embedder.embed(ids, batch, seqLen);
  }

  private cached(key: string, make: () => ort.Tensor): ort.Tensor {
    let t = this.ones.get(key);
    if (!t) {
      if (this.ones.size > 64) this.ones.clear();
      t = make();
      this.ones.set(key, t);
    }
    return t;
  }

  /**
   * GPU providers compile kernels per input shape; a batch of every size from 1 to the cap would compile each layer's
   * kernels dozens of times. On a GPU the batch is padded with zero rows (mask 1, results dropped) to one of a few
   * bucket sizes. Rows are independent, so the padding never changes the real rows' values.
   */
  private padBatches = false;

  paddedBatch(batch: number): number {
    if (!this.padBatches || batch <= 1) return batch;
    if (batch <= 8) return 2 ** Math.ceil(Math.log2(batch));
    return Math.ceil(batch / 32) * 32;
  }

  /** time spent inside ORT's run() and number of runs, for the benchmark */
  readonly stats = { runs: 0, runMs: 0 };

  private async timedRun(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, outputs: string[]) {
    const t0 = performance.now();
    const out = await s.run(feeds, outputs);
    this.stats.runMs += performance.now() - t0;
    this.stats.runs++;
    return out;
  }

  /** Whole prompts: the layer graph on one all-zero context position or on none (family zeroContextRow, see LayerIo). */
  private steering: readonly (Float32Array | undefined)[] | undefined;

  setSteering(perLayer: readonly (Float32Array | undefined)[] | undefined): void {
    if (perLayer && perLayer.length !== this.config.nLayer) throw new RangeError(`setSteering: ${perLayer.length} layers, expected ${this.config.nLayer}`);
    this.steering = perLayer;
  }

  /** out_scale of layer i: its steering scales, or the cached ones */
  private scaleFeed(i: number): ort.Tensor {
    const d = this.config.dModel;
    const s = this.steering?.[i];
    return s ? new ort.Tensor('float32', s, [d]) : this.cached('scale1', () => new ort.Tensor('float32', new Float32Array(d).fill(1), [d]));
  }

  /** [Pb, units]: the rows' unit masks (padding rows: every unit), or the cached all-ones */
  private unitFeed(unitMask: Float32Array | undefined, batch: number, Pb: number): ort.Tensor {
    const U = this.units;
    if (unitMask && unitMask.length !== batch * U) throw new RangeError(`unitMask has ${unitMask.length} values, expected ${batch}×${U}`);
    return unitMask
      ? new ort.Tensor('float32', padTo(unitMask, Pb * U, 1), [Pb, U])
      : this.cached(`units1_${Pb}`, () => new ort.Tensor('float32', new Float32Array(Pb * U).fill(1), [Pb, U]));
  }

  async layer(index: number, hidden: Float32Array, batch: number, seqLen: number, mask?: Float32Array, wantAttention = false, wantContext = false, convMask?: Float32Array, unitMask?: Float32Array) {
    const { dModel: d, dConv: K } = this.config;
    const n = seqLen;
    const U = this.units;
    if (hidden.length !== batch * n * d) throw new RangeError(`hidden has ${hidden.length} values, expected ${batch}×${n}×${d}`);
    if (mask && mask.length !== batch * n * n) throw new RangeError(`mask has ${mask.length} values, expected ${batch}×${n}×${n}`);
    if (convMask && convMask.length !== batch * n * K) throw new RangeError(`convMask has ${convMask.length} values, expected ${batch}×${n}×${K}`);
    const s = await this.session(index);
    const Pb = this.paddedBatch(batch);
    const h = padTo(hidden, Pb * n * d);
    // mask [Pb, n, z + n]: the z = 0 or 1 context positions of a whole prompt first (see zeroContextRow), kept (its
    // terms are exactly 0)
    const z = this.zeroRow;
    const w = n + z;
    let maskT: ort.Tensor;
    if (mask) {
      const m = new Float32Array(Pb * n * w).fill(1);
      for (let r = 0; r < batch * n; r++) m.set(mask.subarray(r * n, (r + 1) * n), r * w + z);
      maskT = new ort.Tensor('float32', m, [Pb, n, w]);
    } else {
      maskT = this.cached(`ones${Pb}x${n}`, () => new ort.Tensor('float32', new Float32Array(Pb * n * w).fill(1), [Pb, n, w]));
    }
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor('float32', h, [Pb, n, d]),
      mask: maskT,
      conv_mask: convMask
        ? new ort.Tensor('float32', padTo(convMask, Pb * n * K, 1), [Pb, n, K])
        : this.cached(`conv1_${Pb}x${n}`, () => new ort.Tensor('float32', new Float32Array(Pb * n * K).fill(1), [Pb, n, K])),
      unit_mask: this.unitFeed(unitMask, batch, Pb),
      out_scale: this.scaleFeed(index),
      ctx_index: this.cached(`zidx${Pb}`, () => new ort.Tensor('int64', new BigInt64Array(Pb), [Pb])),
    };
    if (this.usesPositions) feeds.positions = this.cached(`pos0_${Pb}x${n}`, () => new ort.Tensor('int64', BigInt64Array.from({ length: Pb * n }, (_, i) => BigInt(i % n)), [Pb, n]));
    for (const c of this.ctxSpec) {
      const rows = this.ctxRows(c, z);
      feeds[`ctx_${c.name}`] = this.cached(`z_${c.name}`, () => new ort.Tensor('float32', new Float32Array(rows * c.width), [1, rows, c.width]));
    }
    const outputs = ['hidden_out'];
    if (wantAttention) outputs.push('attention');
    if (wantContext) for (const c of this.ctxSpec) outputs.push(`${c.name}_out`);
    const out = await this.timedRun(s, feeds, outputs);
    const part = (name: string, per: number) => (out[name].data as Float32Array).subarray(0, batch * per);
    let attention: Float32Array | undefined;
    if (wantAttention) {
      // drop the context column: [batch, U, n, z + n] → [batch, U, n, n]
      const a = out.attention.data as Float32Array;
      attention = new Float32Array(batch * U * n * n);
      for (let r = 0; r < batch * U * n; r++) attention.set(a.subarray(r * w + z, (r + 1) * w), r * n);
    }
    let context: LayerContextRows | undefined;
    if (wantContext) {
      context = {};
      for (const c of this.ctxSpec) context[c.name] = part(`${c.name}_out`, n * c.width);
    }
    return { hidden: part('hidden_out', n * d), attention, context };
  }

  async layerLastRow(index: number, hidden: Float32Array, batch: number, seqLen: number, ctx: LayerContextBatch, ctxIndex: Int32Array, mask?: Float32Array, convMask?: Float32Array, unitMask?: Float32Array, positions?: Int32Array) {
    const { dModel: d, dConv: K } = this.config;
    const n = seqLen;
    if (n < 2) throw new RangeError('layerLastRow needs at least 2 positions');
    if (hidden.length !== batch * d) throw new RangeError(`hidden has ${hidden.length} values, expected ${batch}×${d}`);
    if (mask && mask.length !== batch * n) throw new RangeError(`mask has ${mask.length} values, expected ${batch}×${n}`);
    if (convMask && convMask.length !== batch * K) throw new RangeError(`convMask has ${convMask.length} values, expected ${batch}×${K}`);
    if (ctxIndex.length !== batch) throw new RangeError(`ctxIndex has ${ctxIndex.length} values, expected ${batch}`);
    const C = ctx.count;
    for (const c of this.ctxSpec) {
      if (ctx.tensors[c.name]?.length !== C * this.ctxRows(c, n - 1) * c.width) throw new RangeError(`layerLastRow: context '${c.name}' does not match count × shape`);
    }
    const s = await this.rowSession(index);
    const Pb = this.paddedBatch(batch);
    const Pc = this.paddedBatch(C);
    const idx = new BigInt64Array(Pb);
    for (let b = 0; b < batch; b++) {
      if (!(ctxIndex[b] >= 0 && ctxIndex[b] < C)) throw new RangeError(`ctxIndex ${ctxIndex[b]} out of range [0, ${C})`);
      idx[b] = BigInt(ctxIndex[b]);
    }
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor('float32', padTo(hidden, Pb * d), [Pb, 1, d]),
      mask: mask
        ? new ort.Tensor('float32', padTo(mask, Pb * n, 1), [Pb, 1, n])
        : this.cached(`row1_${Pb}x${n}`, () => new ort.Tensor('float32', new Float32Array(Pb * n).fill(1), [Pb, 1, n])),
      conv_mask: convMask
        ? new ort.Tensor('float32', padTo(convMask, Pb * K, 1), [Pb, 1, K])
        : this.cached(`rowconv1_${Pb}`, () => new ort.Tensor('float32', new Float32Array(Pb * K).fill(1), [Pb, 1, K])),
      unit_mask: this.unitFeed(unitMask, batch, Pb),
      out_scale: this.scaleFeed(index),
      ctx_index: new ort.Tensor('int64', idx, [Pb]),
    };
    if (this.usesPositions) feeds.positions = new ort.Tensor('int64', this.rowPositions(positions, batch, Pb, n), [Pb, 1]);
    for (const c of this.ctxSpec) {
      const rows = this.ctxRows(c, n - 1);
      feeds[`ctx_${c.name}`] = new ort.Tensor('float32', padTo(ctx.tensors[c.name], Pc * rows * c.width), [Pc, rows, c.width]);
    }
    const out = await this.timedRun(s, feeds, ['hidden_out']);
    return (out.hidden_out.data as Float32Array).subarray(0, batch * d);
  }

  /**
   * The absolute position of each knockout row, [padded] (padding rows: width − 1): `positions` (a row of a prompt
   * shorter than the call's width, left-padded) or width − 1 for every row.
   */
  private rowPositions(positions: Int32Array | undefined, rows: number, padded: number, width: number): BigInt64Array {
    if (positions && positions.length !== rows) throw new RangeError(`positions has ${positions.length} values, expected ${rows}`);
    const out = new BigInt64Array(padded).fill(BigInt(width - 1));
    if (positions) {
      for (let r = 0; r < rows; r++) {
        if (!(Number.isInteger(positions[r]) && positions[r] >= 0 && positions[r] < width)) throw new RangeError(`position ${positions[r]} out of range [0, ${width})`);
        out[r] = BigInt(positions[r]);
      }
    }
    return out;
  }

  /** Whether knockouts run through the chunk graph (chunkKnockouts: clean forward + rows in one call). */
  get fusedSweep(): boolean {
    return this.chunk !== undefined;
  }

  /** ModelBackend.chunkKnockouts through the chunk graph; undefined when it is not loaded (see OrtBackendOptions.fusedSweep). */
  get chunkKnockouts(): ((req: ChunkCall) => Promise<ChunkCallResult>) | undefined {
    return this.chunk ? (req) => this.runChunk(req) : undefined;
  }

  private async runChunk(req: ChunkCall): Promise<ChunkCallResult> {
    const { dModel: d, dConv: K, nLayer: L, paddedVocabSize: V, vocabSize } = this.config;
    const W = req.width;
    const P = req.lengths.length;
    const R = req.starts.length;
    if (!(W >= 2) || P === 0 || req.ids.length !== P * W || req.targets.length !== P || req.onlyIfTop1.length !== P) {
      throw new RangeError('chunkKnockouts: ids, lengths, targets or onlyIfTop1 do not match the prompts');
    }
    for (let p = 0; p < P; p++) {
      if (!(req.lengths[p] >= 2 && req.lengths[p] <= W)) throw new RangeError(`chunkKnockouts: a prompt of ${req.lengths[p]} tokens in a call ${W} wide`);
      if (!(req.targets[p] >= -1 && req.targets[p] < vocabSize)) throw new RangeError(`target ${req.targets[p]} out of range [0, ${vocabSize})`);
    }
    if (req.prompt.length !== R || req.ends.length !== R || req.mask.length !== R * W || req.afterMask.length !== R * W || (req.convMask && req.convMask.length !== R * K)) {
      throw new RangeError('chunkKnockouts: prompt, ends, mask, afterMask or convMask do not match the rows');
    }
    for (let r = 0; r < R; r++) {
      if (!(req.starts[r] >= 0 && req.starts[r] < L) || (r > 0 && req.starts[r] < req.starts[r - 1])) throw new RangeError('chunkKnockouts: starts must be non-decreasing layers');
      if (!(req.ends[r] > req.starts[r] && req.ends[r] <= L)) throw new RangeError(`chunkKnockouts: row ${r}'s window [${req.starts[r]}, ${req.ends[r]}) is not within 0…${L}`);
      if (!(req.prompt[r] >= 0 && req.prompt[r] < P)) throw new RangeError(`chunkKnockouts: row prompt ${req.prompt[r]} out of range [0, ${P})`);
    }
    const U = this.units;
    const G = req.unitGroups ? req.unitGroups.length / (L * U) : 1;
    if (!Number.isInteger(G) || G < 1) throw new RangeError('chunkKnockouts: unitGroups is not [L, groups, units]');
    if ((req.unitGroups === undefined) !== (req.rowGroup === undefined)) throw new RangeError('chunkKnockouts: unitGroups and rowGroup go together');
    // the rows and one padding row at the end (the graph always keeps its last row, so no layer is empty): it joins at
    // the last layer, cuts nothing and its result is dropped
    const Rp = R + 1;
    /** [R, w] rows grown to [R + 1, w], the padding row all ones (absent: all ones) */
    const withPad = (a: Float32Array | undefined, w: number) => {
      if (!a) return new Float32Array(Rp * w).fill(1);
      const o = new Float32Array(Rp * w);
      o.set(a);
      return o.fill(1, R * w);
    };
    const i64 = (a: ArrayLike<number>, extra?: number) => {
      const o = new BigInt64Array(a.length + (extra === undefined ? 0 : 1));
      for (let i = 0; i < a.length; i++) o[i] = BigInt(a[i]);
      if (extra !== undefined) o[a.length] = BigInt(extra);
      return o;
    };
    const rowGroup = new BigInt64Array(Rp);
    if (req.rowGroup) {
      if (req.rowGroup.length !== R) throw new RangeError('chunkKnockouts: rowGroup does not match the rows');
      for (let r = 0; r < R; r++) {
        if (!(req.rowGroup[r] >= 0 && req.rowGroup[r] < G)) throw new RangeError(`rowGroup ${req.rowGroup[r]} out of range [0, ${G})`);
        rowGroup[r] = BigInt(req.rowGroup[r]);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor('float32', this.embedder.embed(req.ids, P, W), [P, W, d]),
      last: new ort.Tensor('int64', i64(Array.from(req.lengths, (n) => n - 1)), [P]),
      clean_target: new ort.Tensor('int64', i64(req.targets), [P]),
      only_if_top1: new ort.Tensor('int64', i64(req.onlyIfTop1), [P]),
      starts: new ort.Tensor('int64', i64(req.starts, L - 1), [Rp]),
      ends: new ort.Tensor('int64', i64(req.ends, L), [Rp]),
      ctx_index: new ort.Tensor('int64', i64(req.prompt, 0), [Rp]),
      mask: new ort.Tensor('float32', withPad(req.mask, W), [Rp, W]),
      after_mask: new ort.Tensor('float32', withPad(req.afterMask, W), [Rp, W]),
      conv_mask: new ort.Tensor('float32', withPad(req.convMask, K), [Rp, K]),
      unit_groups: req.unitGroups
        ? new ort.Tensor('float32', req.unitGroups, [L, G, U])
        : this.cached(`ugroups1`, () => new ort.Tensor('float32', new Float32Array(L * U).fill(1), [L, 1, U])),
      row_group: new ort.Tensor('int64', rowGroup, [Rp]),
      out_scale: this.layerScales(),
    };
    const outputs = ['clean_logits', 'kept', 'max_logit', 'sum_exp', 'target_logit'];
    if (req.wantHiddens) for (let j = 1; j <= L; j++) outputs.push(`hidden_${j}`);
    const out = await this.timedRun(this.chunk!, feeds, outputs);
    const keptF = out.kept.data as Float32Array;
    const kept = Array.from(keptF, (k) => k === 1);
    // the graph's rows: those of kept prompts and the padding row, in order
    const maxLogit = new Float32Array(R).fill(NaN);
    const sumExp = new Float32Array(R).fill(NaN);
    const targetLogit = new Float32Array(R).fill(NaN);
    const [mx, se, tl] = (['max_logit', 'sum_exp', 'target_logit'] as const).map((k) => out[k].data as Float32Array);
    let i = 0;
    for (let r = 0; r < R; r++) {
      if (!kept[req.prompt[r]]) continue;
      maxLogit[r] = mx[i];
      sumExp[r] = se[i];
      targetLogit[r] = tl[i];
      i++;
    }
    if (i + 1 !== mx.length) throw new Error(`chunkKnockouts: the graph returned ${mx.length} rows, expected ${i + 1}`);
    let hiddens: Float32Array[] | undefined;
    if (req.wantHiddens) {
      // the clean residual at every layer boundary: the embedded prompts the call was fed, then each layer's output
      hiddens = [feeds.hidden.data as Float32Array, ...Array.from({ length: L }, (_, j) => out[`hidden_${j + 1}`].data as Float32Array)];
    }
    const logits = (out.clean_logits.data as Float32Array).subarray(0, P * V);
    return { logits, kept, stats: { maxLogit, sumExp, targetLogit }, hiddens };
  }

  /** out_scale of the chunk graph [L, d]: every layer's steering scales */
  private layerScales(): ort.Tensor {
    const { nLayer: L, dModel: d } = this.config;
    if (!this.steering?.some((s) => s)) return this.cached('layerScale1', () => new ort.Tensor('float32', new Float32Array(L * d).fill(1), [L, d]));
    const all = new Float32Array(L * d).fill(1);
    this.steering.forEach((s, j) => s && all.set(s, j * d));
    return new ort.Tensor('float32', all, [L, d]);
  }

  async headLast(hidden: Float32Array, batch: number, seqLen: number): Promise<Float32Array> {
    const d = this.config.dModel;
    const P = this.paddedBatch(batch);
    const h = padTo(hidden, P * seqLen * d);
    const target = this.cached(`t0_${P}`, () => new ort.Tensor('int64', new BigInt64Array(P), [P]));
    const out = await this.timedRun(this.head, { hidden: new ort.Tensor('float32', h, [P, seqLen, d]), target }, ['logits']);
    const lg = out.logits.data as Float32Array;
    return P === batch ? lg : lg.subarray(0, (lg.length / P) * batch);
  }

  async headLastTarget(hidden: Float32Array, batch: number, seqLen: number, targets: Int32Array): Promise<HeadTargetStats> {
    const d = this.config.dModel;
    if (hidden.length !== batch * seqLen * d) throw new RangeError(`hidden has ${hidden.length} values, expected ${batch}×${seqLen}×${d}`);
    if (targets.length !== batch) throw new RangeError(`targets has ${targets.length} values, expected ${batch}`);
    const P = this.paddedBatch(batch);
    const h = padTo(hidden, P * seqLen * d);
    const t = new BigInt64Array(P);
    for (let b = 0; b < batch; b++) {
      if (!(targets[b] >= 0 && targets[b] < this.config.vocabSize)) throw new RangeError(`target ${targets[b]} out of range [0, ${this.config.vocabSize})`);
      t[b] = BigInt(targets[b]);
    }
    const out = await this.timedRun(
      this.head,
      { hidden: new ort.Tensor('float32', h, [P, seqLen, d]), target: new ort.Tensor('int64', t, [P]) },
      ['max_logit', 'sum_exp', 'target_logit'],
    );
    const part = (name: string) => (out[name].data as Float32Array).subarray(0, batch);
    return { maxLogit: part('max_logit'), sumExp: part('sum_exp'), targetLogit: part('target_logit') };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.layerSessions) await s?.release();
    for (const s of this.rowSessions) await s?.release();
    for (const s of this.stepSessions) await s?.release();
    await this.head.release();
    await this.chunk?.release();
    this.layerSessions = [];
    this.rowSessions = [];
    this.embedder.clear();
    this.ones.clear();
  }
}
