// The clean numbers of a chunk's prompts spread over worker threads. Each is a float64 softmax over a prompt's whole
// real vocabulary (numerics.ts cleanNumbers): at the 1.3b shape ~1 ms of host time per prompt, which on a GPU is a
// tenth of a dataset call (docs/benchmarks.md). Each worker runs numerics.ts's own softmaxStats (its source, so there is
// one implementation: rowStats) on whole rows, in the same order of terms, so the numbers are the same bits as on one thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { cleanNumbersFromStats, rowStats, softmaxStats, type CleanNumbers, type RowStats } from './numerics';

/** Rows below which one thread is quicker than the hand-off (a row is ~1 ms at 50,000 logits; a hand-off ~0.1 ms). */
const MIN_ROWS = 8;
const MAX_THREADS = 8;

interface Job {
  id: number;
  logits: Float32Array; // on a SharedArrayBuffer
  V: number;
  vocab: number;
  from: number;
  to: number;
}
interface Reply {
  id: number;
  max: Float64Array;
  argmax: Int32Array;
  sum: Float64Array;
}

// numerics.ts's own functions, by their source (as bundled: the names inside agree with the declarations)
const workerSource = `
const { parentPort } = require('node:worker_threads');
${softmaxStats.toString()}
${rowStats.toString()}
parentPort.on('message', (j) => parentPort.postMessage({ id: j.id, ...${rowStats.name}(j.logits, j.V, j.vocab, j.from, j.to) }));`;

class SoftmaxPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  broken = false;

  constructor(readonly size: number) {}

  spawn(): void {
    while (this.workers.length < this.size) {
      const w = new Worker(workerSource, { eval: true });
      w.unref(); // an idle pool never keeps the process alive; ref'd while a job runs (below)
      w.on('message', (r: Reply) => {
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        p?.resolve(r);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => code !== 0 && this.fail(new Error(`softmax worker exited with code ${code}`)));
      this.workers.push(w);
    }
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }

  private fail(e: Error): void {
    this.broken = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.close();
  }

  /** Row stats of rows [0, rows) of `logits` (shared), split into one contiguous block per worker. */
  async stats(logits: Float32Array, rows: number, V: number, vocab: number): Promise<RowStats> {
    this.spawn();
    for (const w of this.workers) w.ref();
    const per = Math.ceil(rows / this.workers.length);
    const jobs: Promise<Reply & { from: number }>[] = [];
    for (let k = 0, from = 0; from < rows; k++, from += per) {
      const job: Job = { id: this.nextId++, logits, V, vocab, from, to: Math.min(rows, from + per) };
      jobs.push(
        new Promise<Reply>((resolve, reject) => {
          this.pending.set(job.id, { resolve, reject });
          this.workers[k].postMessage(job);
        }).then((r) => ({ ...r, from: job.from })),
      );
    }
    const out: RowStats = { max: new Float64Array(rows), argmax: new Int32Array(rows), sum: new Float64Array(rows) };
    for (const r of await Promise.all(jobs)) {
      out.max.set(r.max, r.from);
      out.argmax.set(r.argmax, r.from);
      out.sum.set(r.sum, r.from);
    }
    return out;
  }
}

let pool: SoftmaxPool | undefined;
/** How many threads the last cleanNumbersParallel call used (1: on the calling thread); for tests and the bench. */
export let lastThreads = 1;

type PoolOptions = { minRows?: number; threads?: number };

/** The pool a call of `rows` prompts uses, or undefined when it stays on the calling thread. */
function poolFor(rows: number, opts: PoolOptions): SoftmaxPool | undefined {
  const threads = opts.threads ?? Math.min(MAX_THREADS, availableParallelism() - 1);
  if (threads < 2 || rows < (opts.minRows ?? MIN_ROWS)) return undefined;
  if (!pool || pool.broken || pool.size !== threads) {
    pool?.close();
    pool = new SoftmaxPool(threads);
  }
  return pool;
}

/**
 * Starts the threads that cleanNumbersParallel of `rows` prompts will use, so that they boot while the caller's ORT
 * calls run (onnxruntime-node's run blocks the calling thread, not theirs). A thread takes tens of ms to start.
 */
export function warmSoftmaxPool(rows: number, opts: PoolOptions = {}): void {
  poolFor(rows, opts)?.spawn();
}

/**
 * cleanNumbers (numerics.ts) of P = wanted.length prompts' logits [P, V], on up to 8 worker threads when there are
 * enough rows and cores (`minRows`, `threads` for tests); on this thread otherwise, or if a worker fails. The same bits
 * either way.
 */
export async function cleanNumbersParallel(logits: Float32Array, V: number, vocab: number, wanted: readonly (number | undefined)[], opts: PoolOptions = {}): Promise<CleanNumbers> {
  const P = wanted.length;
  const use = poolFor(P, opts);
  let stats: RowStats | undefined;
  lastThreads = 1;
  if (use) {
    let shared = logits;
    if (!(logits.buffer instanceof SharedArrayBuffer)) {
      shared = new Float32Array(new SharedArrayBuffer(P * V * 4));
      shared.set(logits.subarray(0, P * V));
    }
    try {
      stats = await use.stats(shared, P, V, vocab);
      lastThreads = Math.min(use.size, P);
    } catch {
      stats = undefined; // a failed worker: the same numbers on this thread
    }
  }
  return cleanNumbersFromStats(logits, V, vocab, wanted, stats ?? rowStats(logits, V, vocab, 0, P));
}
