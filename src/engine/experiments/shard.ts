// Sharding of a dataset run (`run --shard I/N`): which part of the selected prompts one shard measures.
//
// The unit of a shard is the CHUNK of dataset.ts (formChunks: the selection sorted by token length, `chunkSize` at a
// time), not the single prompt: a chunk's prompts go through the model together, and float results may depend on
// the batch they are in (GPU kernels are chosen by shape), so a shard that re-formed batches could differ from the
// unsharded run in the last bits. Chunks are formed from the whole selection (after --limit/--seed, before the
// filter) in every shard, and shard I of N runs the chunks whose id ≡ I (mod N): neighbouring chunks have similar
// lengths, so the shards get similar work. A selected prompt that cannot be measured at all (skipped before any
// forward pass) belongs to the shard of its selection position mod N. Every selected prompt is in exactly one shard,
// with the same batch as in the unsharded run, so merging the shards' per-prompt records (merge.ts) gives the
// unsharded run's records exactly.
import { UserError } from '../types';

/** Shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The most shards a run may be cut into. */
export const MAX_SHARDS = 100000;

/** Parses `--shard I/N` (0 ≤ I < N); every bad value is one UserError. */
export function parseShard(value: unknown): ShardSpec {
  if (typeof value === 'object' && value !== null) {
    const v = value as Partial<ShardSpec>;
    return checkShard(v.index, v.count, `${String(v.index)}/${String(v.count)}`);
  }
  const text = String(value ?? '').trim();
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
  if (!m) throw new UserError(`--shard must be I/N with 0 ≤ I < N (e.g. 0/4 for the first of 4 shards), got '${text}'`);
  return checkShard(Number(m[1]), Number(m[2]), text);
}

function checkShard(index: unknown, count: unknown, text: string): ShardSpec {
  if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > MAX_SHARDS)
    throw new UserError(`--shard ${text}: the number of shards must be an integer from 1 to ${MAX_SHARDS}`);
  if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= (count as number))
    throw new UserError(`--shard ${text}: the shard index is 0-based and must be below ${String(count)} (0 … ${(count as number) - 1})`);
  return { index: index as number, count: count as number };
}

/** Whether chunk `chunkId` (or the unmeasurable prompt at selection position `k`) belongs to `shard`; no shard: all. */
export function inShard(k: number, shard: ShardSpec | undefined): boolean {
  return shard === undefined || k % shard.count === shard.index;
}

/** `2/4` */
export function shardLabel(s: ShardSpec): string {
  return `${s.index}/${s.count}`;
}

/** Whether two optional shards are the same (both absent, or the same index and count). */
export function sameShard(a: ShardSpec | undefined, b: ShardSpec | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.index === b.index && a.count === b.count;
}
