// ModelBackend on onnxruntime-node: one session per layer graph plus one head session, created by PATH so that
// ORT finds the external weights file beside the .onnx files. The embedding lookup happens here in TypeScript.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Checkpoint, ExecutionProvider, ExecutionProviderChoice, Mamba2Config, ModelBackend } from '../types';
import { UserError } from '../types';
import type { OnnxManifest } from '../onnx/cache';

export const CUDA_HELP =
  "onnxruntime-node's CUDA execution provider libraries are not bundled with the npm package. Install CUDA 12.x and cuDNN 9, " +
  'then reinstall onnxruntime-node so that its install script fetches the CUDA binaries: ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (same as `npm install onnxruntime-node --onnxruntime-node-install=cuda12`, ' +
  'i.e. npm_config_onnxruntime_node_install=cuda12; older switch: --onnxruntime-node-install-cuda). Or use --ep cpu.';
export const WEBGPU_HELP = 'the WebGPU execution provider is not available in this build of onnxruntime-node or no WebGPU adapter was found. Use --ep cpu.';

export interface OrtBackendOptions {
  ep: ExecutionProviderChoice;
  /** threads per session (default: available cores) */
  threads?: number;
  /** tests only: run float16 compute graphs on the CPU (ORT can, slowly; the product keeps them GPU-only) */
  allowCpuFloat16?: boolean;
  /** pad batches to a few bucket sizes (default: on GPU providers, off on the CPU); see paddedBatch */
  padBatches?: boolean;
}

// ORT's environment logger prints provider-load failures (e.g. the missing CUDA libraries while `auto` probes) to stderr;
// those failures are reported through exceptions, so keep the native log quiet unless debugging.
if (!process.env.MAMBA_EXPLAIN_DEBUG) ort.env.logLevel = 'fatal';

function sessionOptions(ep: ExecutionProvider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // one arena per session would keep each layer's peak activations alive: with 48 layer sessions and batches of ~100
    // prompts that is gigabytes. Plain malloc/free per run keeps memory at the weights plus one layer's activations.
    enableCpuMemArena: false,
    logSeverityLevel: 3,
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

/** Creates a session on exactly one EP; throws when that EP can't be used (never silently falls back). */
async function createOn(path: string, ep: ExecutionProvider, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, sessionOptions(ep, threads));
}

export class OrtBackend implements ModelBackend {
  readonly config: Mamba2Config;
  private layerSessions: (ort.InferenceSession | undefined)[];
  private embRows = new Map<number, Float32Array>();
  private ones = new Map<string, ort.Tensor>();
  private disposed = false;

  private constructor(
    private readonly ckpt: Checkpoint,
    private readonly dir: string,
    private readonly manifest: OnnxManifest,
    readonly ep: ExecutionProvider,
    private readonly threads: number,
    private readonly head: ort.InferenceSession,
  ) {
    this.config = ckpt.config;
    this.layerSessions = new Array(manifest.layers.length).fill(undefined);
  }

  /**
   * Opens the graphs of a cache folder. `auto` tries cuda → webgpu → cpu and keeps the first that creates a session;
   * an explicit EP is used alone, and its failure is a UserError.
   */
  static async open(ckpt: Checkpoint, dir: string, manifest: OnnxManifest, opts: OrtBackendOptions): Promise<OrtBackend> {
    const threads = Math.max(1, opts.threads ?? availableParallelism());
    const order: ExecutionProvider[] = opts.ep === 'auto' ? (webgpuPlausible() ? ['cuda', 'webgpu', 'cpu'] : ['cuda', 'cpu']) : [opts.ep];
    const f16NoCpu = manifest.computeDType === 'float16' && !opts.allowCpuFloat16;
    if (f16NoCpu && opts.ep === 'cpu') {
      throw new UserError('float16 compute graphs are a GPU-only option: use --ep cuda or --ep webgpu, or float32 compute on the CPU');
    }
    const errors: string[] = [];
    for (const ep of order) {
      if (ep === 'cpu' && f16NoCpu) break;
      try {
        const head = await createOn(join(dir, manifest.head), ep, threads);
        const b = new OrtBackend(ckpt, dir, manifest, ep, threads, head);
        b.padBatches = opts.padBatches ?? ep !== 'cpu';
        // load every layer now, so the first experiment batch doesn't pay for it and EP problems show up at open
        for (let i = 0; i < manifest.layers.length; i++) await b.session(i);
        return b;
      } catch (e) {
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

  async embed(ids: Int32Array, batch: number, seqLen: number): Promise<Float32Array> {
    const d = this.config.dModel;
    const V = this.config.paddedVocabSize;
    const out = new Float32Array(batch * seqLen * d);
    for (let t = 0; t < batch * seqLen; t++) {
      const id = ids[t];
      let row = this.embRows.get(id);
      if (!row) {
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} out of range [0, ${V})`);
        row = this.ckpt.readRowsF32('embedding.weight', id, 1);
        this.embRows.set(id, row);
      }
      out.set(row, t * d);
    }
    return out;
  }

  private onesMask(batch: number, seqLen: number): ort.Tensor {
    const key = `${batch}x${seqLen}`;
    let t = this.ones.get(key);
    if (!t) {
      if (this.ones.size > 16) this.ones.clear();
      t = new ort.Tensor('float32', new Float32Array(batch * seqLen * seqLen).fill(1), [batch, seqLen, seqLen]);
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

  async layer(index: number, hidden: Float32Array, batch: number, seqLen: number, mask?: Float32Array, wantAttention = false) {
    const d = this.config.dModel;
    if (hidden.length !== batch * seqLen * d) throw new RangeError(`hidden has ${hidden.length} values, expected ${batch}×${seqLen}×${d}`);
    if (mask && mask.length !== batch * seqLen * seqLen) throw new RangeError(`mask has ${mask.length} values, expected ${batch}×${seqLen}×${seqLen}`);
    const s = await this.session(index);
    const P = this.paddedBatch(batch);
    let h = hidden;
    let m = mask;
    if (P !== batch) {
      h = new Float32Array(P * seqLen * d);
      h.set(hidden);
      if (mask) {
        m = new Float32Array(P * seqLen * seqLen).fill(1);
        m.set(mask);
      }
    }
    const feeds = {
      hidden: new ort.Tensor('float32', h, [P, seqLen, d]),
      mask: m ? new ort.Tensor('float32', m, [P, seqLen, seqLen]) : this.onesMask(P, seqLen),
    };
    const out = await this.timedRun(s, feeds, wantAttention ? ['hidden_out', 'attention'] : ['hidden_out']);
    const hid = out.hidden_out.data as Float32Array;
    const att = wantAttention ? (out.attention.data as Float32Array) : undefined;
    return {
      hidden: P === batch ? hid : hid.subarray(0, batch * seqLen * d),
      attention: att && P !== batch ? att.subarray(0, (att.length / P) * batch) : att,
    };
  }

  async headLast(hidden: Float32Array, batch: number, seqLen: number): Promise<Float32Array> {
    const d = this.config.dModel;
    const P = this.paddedBatch(batch);
    let h = hidden;
    if (P !== batch) {
      h = new Float32Array(P * seqLen * d);
      h.set(hidden);
    }
    const out = await this.timedRun(this.head, { hidden: new ort.Tensor('float32', h, [P, seqLen, d]) }, ['logits']);
    const lg = out.logits.data as Float32Array;
    return P === batch ? lg : lg.subarray(0, (lg.length / P) * batch);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.layerSessions) await s?.release();
    await this.head.release();
    this.layerSessions = [];
    this.embRows.clear();
    this.ones.clear();
  }
}
