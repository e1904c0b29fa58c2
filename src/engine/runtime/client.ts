// Main-thread handle on the engine worker: start it on a model folder, call methods, cancel, dispose.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, UserError } from '../types';
import type { ProgressEvent } from '../types';
import type { FromWorker, SerializedError, SessionInfo, ToWorker, WorkerStartData } from './protocol';
import { applyCudaMathMode } from './tf32';

export interface EngineClientOptions extends WorkerStartData {
  /** path of the worker script (default: dist/worker.js beside the bundle, or worker.ts under tsx) */
  workerPath?: string;
  /** progress while the session opens (ONNX conversion on first use) */
  onProgress?: (p: ProgressEvent) => void;
}

export interface CallOptions {
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
}

export function deserializeError(e: SerializedError): Error {
  if (e.name === 'UserError') return new UserError(e.message);
  if (e.name === 'CancelledError') return new CancelledError();
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Where the worker script is: the bundle's sibling dist/worker.js, or the TypeScript source when running unbundled
 * under tsx (tests). A .ts worker is started as an eval worker that registers tsx's require hook first
 * (Node 20 workers don't apply `--import tsx` from execArgv to a .ts entry).
 */
export function resolveWorker(workerPath?: string): { script: string; eval: boolean; file: string } {
  const viaTsx = (file: string) => {
    let tsx = 'tsx/cjs';
    try {
      tsx = require.resolve('tsx/cjs');
    } catch {
      /* resolved by the worker from its cwd */
    }
    return { script: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`, eval: true, file };
  };
  if (workerPath) return workerPath.endsWith('.ts') ? viaTsx(workerPath) : { script: workerPath, eval: false, file: workerPath };
  // unbundled (tsx): use the source so that tests never run a stale bundle
  if (__filename.endsWith('.ts')) return viaTsx(join(__dirname, 'worker.ts'));
  const candidates = [join(__dirname, 'worker.js'), join(__dirname, '..', 'dist', 'worker.js'), join(__dirname, '..', '..', '..', 'dist', 'worker.js')];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`engine worker script not found (looked for ${candidates.join(', ')}): run npm run build`);
  return { script: found, eval: false, file: found };
}

interface Pending {
  method: string;
  /** the call's cancellation flag (shared with the worker) */
  flag: Int32Array;
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (p: ProgressEvent) => void;
  cleanup(): void;
}

export class EngineClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private disposed = false;
  private exitError?: Error;
  private idleWaiters: (() => void)[] = [];

  private constructor(private readonly worker: Worker, readonly info: SessionInfo) {
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`engine worker exited (code ${code})`)));
  }

  /** Execution provider actually used by the worker's backend. */
  get ep(): string {
    return this.info.ep;
  }

  static async start(opts: EngineClientOptions): Promise<EngineClient> {
    // TF32 policy in the main thread: the worker's process.env is a copy, the CUDA libraries read the real environment
    applyCudaMathMode(opts.tf32);
    const w = resolveWorker(opts.workerPath);
    // functions can't cross to the worker: everything but the callback and the script path
    const { workerPath: _script, onProgress: _progress, ...data } = opts;
    const worker = new Worker(w.script, { workerData: data satisfies WorkerStartData, eval: w.eval });
    const info = await new Promise<SessionInfo>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'open-progress') opts.onProgress?.(m.progress);
        else if (m.type === 'ready') done(() => resolve(m.info));
        else if (m.type === 'open-error') done(() => reject(deserializeError(m.error)));
      };
      const onError = (e: Error) => done(() => reject(e));
      const onExit = (code: number) => done(() => reject(new Error(`engine worker exited (code ${code}) while opening ${opts.modelDir}`)));
      const done = (f: () => void) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        f();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    return new EngineClient(worker, info);
  }

  call<R>(method: string, params: unknown, opts: CallOptions = {}): Promise<R> {
    if (this.disposed) return Promise.reject(new Error('engine client disposed'));
    if (this.exitError) return Promise.reject(this.exitError);
    if (opts.signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.nextId++;
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => Atomics.store(flag, 0, 1);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        method,
        flag,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      });
      this.post({ type: 'call', id, method, params, cancel });
    });
  }

  /** The methods of the calls not answered yet (in the order they were made). */
  get inFlight(): string[] {
    return [...this.pending.values()].map((p) => p.method);
  }

  /** Resolves once no call is in flight (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Asks every call in flight to stop, as its caller's AbortSignal would: the worker stops at its next check and the
   * call rejects with CancelledError (a dataset run keeps its checkpoint).
   */
  cancelAll(): void {
    for (const p of this.pending.values()) Atomics.store(p.flag, 0, 1);
  }

  /** Wakes whenIdle()'s waiters once nothing is in flight (after the last call's own caller was answered). */
  private notifyIdle(): void {
    if (this.pending.size > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'progress') this.pending.get(m.id)?.onProgress?.(m.progress);
    else if (m.type === 'result' || m.type === 'error') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.cleanup();
      if (m.type === 'result') p.resolve(m.result);
      else p.reject(deserializeError(m.error));
      this.notifyIdle();
    }
  }

  private failAll(e: Error): void {
    this.exitError ??= e;
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(e);
    }
    this.pending.clear();
    this.notifyIdle();
  }

  /** Closes the session in the worker and ends it (terminates it after 5 s if it doesn't exit). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.exitError) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.post({ type: 'dispose' });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
