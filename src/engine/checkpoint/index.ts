// Opens a checkpoint folder of any family (state-spaces or HF layout; safetensors, sharded safetensors or
// pytorch_model.bin) and exposes its tensors under canonical names (the family's expectedShapes), read by file offset
// and converted to float32.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Checkpoint, DType, ModelConfig, TensorInfo, UserError } from '../types';
import { familyOf, parseModelConfig as parseConfig } from '../arch/index';
import { parsePythonJson } from './pythonJson';
import { bytesPerElement, bf16ToF32, f16ToF32 } from './dtype';
import { StoredTensor, clean, product, quoted, readExact, shapeText } from './io';
import { readSafetensorsHeader } from './safetensors';
import { readTorchZip } from './pytorch';

export { parseModelConfig as parseConfig } from '../arch/index';

/** Expected shape of every canonical tensor for a config (lm_head included; callers drop it when tied). */
export function expectedShapes(c: ModelConfig): Map<string, number[]> {
  return familyOf(c).expectedShapes(c);
}

/** Maps a stored key (either format) to its canonical name. */
export function canonicalName(key: string): string {
  let k = key.startsWith('backbone.') ? key.slice('backbone.'.length) : key;
  if (k === 'embeddings.weight') k = 'embedding.weight';
  return k;
}

interface WeightSet {
  /** Absolute paths of the weight files, in a stable order. */
  files: string[];
  tensors: StoredTensor[];
  /** File to name when a tensor is missing. */
  describe: string;
}

function exists(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read ${what} (${clean((e as Error).message, 200)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: ${what} is not valid JSON (${clean((e as Error).message, 200)})`);
  }
}

class Files {
  private readonly fds = new Map<string, number>();
  fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, 'r');
      } catch (e) {
        throw new UserError(`${file}: cannot open weight file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      this.fds.set(file, fd);
    }
    return fd;
  }
  closeAll(): void {
    for (const fd of this.fds.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.fds.clear();
  }
}

function loadIndex(dir: string, indexFile: string, files: Files, kind: 'safetensors' | 'bin'): WeightSet {
  const idx = readJson(indexFile, 'weight index') as { weight_map?: unknown };
  const wm = idx && typeof idx === 'object' ? idx.weight_map : undefined;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) {
    throw new UserError(`${indexFile}: weight index has no "weight_map" object`);
  }
  const byShard = new Map<string, string[]>();
  for (const [key, shard] of Object.entries(wm as Record<string, unknown>)) {
    // a plain file name of the model folder: no folder part, no '..', nothing a message cannot show on one line
    if (typeof shard !== 'string' || shard === '' || shard.length > 255 || shard.includes('/') || shard.includes('\\') || shard.startsWith('.') || clean(shard) !== shard) {
      throw new UserError(`${indexFile}: bad shard file name for tensor ${quoted(key)}`);
    }
    if (!byShard.has(shard)) byShard.set(shard, []);
    byShard.get(shard)!.push(key);
  }
  const shardNames = [...byShard.keys()].sort();
  const tensors: StoredTensor[] = [];
  const paths: string[] = [];
  for (const shard of shardNames) {
    const p = path.join(dir, shard);
    if (!exists(p)) throw new UserError(`${p}: missing weight file (listed in ${path.basename(indexFile)})`);
    paths.push(p);
    const inShard = kind === 'safetensors' ? readSafetensorsHeader(files.fd(p), p) : readTorchZip(files.fd(p), p);
    const byKey = new Map(inShard.map((t) => [t.key, t]));
    for (const key of byShard.get(shard)!) {
      const t = byKey.get(key);
      if (!t) throw new UserError(`${p}: tensor ${quoted(key)} listed in ${path.basename(indexFile)} is not in this file`);
      tensors.push(t);
    }
  }
  return { files: paths, tensors, describe: indexFile };
}

function loadWeights(dir: string, files: Files): WeightSet {
  const st = path.join(dir, 'model.safetensors');
  if (exists(st)) return { files: [st], tensors: readSafetensorsHeader(files.fd(st), st), describe: st };
  const stIndex = path.join(dir, 'model.safetensors.index.json');
  if (exists(stIndex)) return loadIndex(dir, stIndex, files, 'safetensors');
  const bin = path.join(dir, 'pytorch_model.bin');
  if (exists(bin)) return { files: [bin], tensors: readTorchZip(files.fd(bin), bin), describe: bin };
  const binIndex = path.join(dir, 'pytorch_model.bin.index.json');
  if (exists(binIndex)) return loadIndex(dir, binIndex, files, 'bin');
  throw new UserError(
    `${dir}: no weight file found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)`,
  );
}

const MiB = 1024 * 1024;

function computeHash(configBytes: Buffer, weightFiles: string[], files: Files): string {
  const h = crypto.createHash('sha256');
  h.update(configBytes);
  for (const f of weightFiles) {
    const fd = files.fd(f);
    const size = fs.fstatSync(fd).size;
    h.update(`\0${path.basename(f)}\0${size}\0`);
    const head = Math.min(MiB, size);
    h.update(readExact(fd, f, 0, head));
    const tail = Math.min(MiB, size);
    h.update(readExact(fd, f, size - tail, tail));
  }
  return h.digest('hex');
}

function shapeStr(s: number[]): string {
  return shapeText(s);
}

class OpenCheckpoint implements Checkpoint {
  private closed = false;
  constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly hash: string,
    readonly storedDType: DType,
    private readonly tensors: Map<string, StoredTensor & { dtype: DType }>,
    private readonly files: Files,
  ) {}

  tensorNames(): string[] {
    return [...this.tensors.keys()];
  }

  private get(name: string): StoredTensor & { dtype: DType } {
    if (this.closed) throw new Error(`checkpoint ${this.dir} is closed`);
    const t = this.tensors.get(name) ?? (name === 'lm_head.weight' && this.config.tieEmbeddings ? this.tensors.get('embedding.weight') : undefined);
    if (!t) throw new Error(`checkpoint ${this.dir} has no tensor '${name}'`);
    return t;
  }

  info(name: string): TensorInfo {
    const t = this.get(name);
    return { name, dtype: t.dtype, shape: [...t.shape] };
  }

  private readElements(t: StoredTensor & { dtype: DType }, start: number, count: number): Float32Array {
    const bpe = bytesPerElement(t.dtype);
    const fd = this.files.fd(t.file);
    const pos = t.offset + start * bpe;
    if (t.dtype === 'float32') {
      const out = new Float32Array(count);
      readExact(fd, t.file, pos, count * 4, Buffer.from(out.buffer, 0, count * 4));
      return out;
    }
    const raw = new Uint16Array(count);
    readExact(fd, t.file, pos, count * 2, Buffer.from(raw.buffer, 0, count * 2));
    return t.dtype === 'float16' ? f16ToF32(raw) : bf16ToF32(raw);
  }

  readF32(name: string): Float32Array {
    const t = this.get(name);
    return this.readElements(t, 0, product(t.shape));
  }

  readRowsF32(name: string, start: number, count: number): Float32Array {
    const t = this.get(name);
    if (t.shape.length !== 2) throw new Error(`readRowsF32: tensor '${name}' is not 2-D (shape ${shapeStr(t.shape)})`);
    const [rows, cols] = t.shape;
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
      throw new RangeError(`readRowsF32: rows [${start}, ${start + count}) out of range for '${name}' with ${rows} rows`);
    }
    return this.readElements(t, start * cols, count * cols);
  }

  close(): void {
    this.closed = true;
    this.files.closeAll();
  }
}

/** The text of a config.json → its config (Python's NaN / Infinity accepted); every problem is one UserError naming `file`. */
export function parseConfigText(text: string, file: string): ModelConfig {
  let json: unknown;
  try {
    json = parsePythonJson(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${clean((e as Error).message, 200)})`);
  }
  return parseConfig(json, file);
}

/** Opens and validates a checkpoint folder. Throws UserError naming the file for any problem with the input. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new UserError(`${abs}: model folder not found`);
  }
  if (!st.isDirectory()) throw new UserError(`${abs}: not a folder (expected a model folder with config.json)`);
  const configFile = path.join(abs, 'config.json');
  if (!exists(configFile)) throw new UserError(`${configFile}: config.json not found in the model folder`);
  const configBytes = fs.readFileSync(configFile);
  let config = parseConfigText(configBytes.toString('utf8'), configFile);

  const files = new Files();
  try {
    const weights = loadWeights(abs, files);
    const byName = new Map<string, StoredTensor>();
    const family0 = familyOf(config);
    const canonical = family0.canonicalName ?? canonicalName;
    for (const t of weights.tensors) {
      const name = canonical(t.key);
      if (name === null) continue; // a buffer the family ignores (e.g. GPT-2's attn.bias causal mask)
      const prev = byName.get(name);
      if (prev) throw new UserError(`${t.file}: tensors ${quoted(prev.key)} and ${quoted(t.key)} both map to ${quoted(name)}`);
      byName.set(name, t);
    }
    const emb = byName.get('embedding.weight');
    if (!emb) {
      const stored = family0.canonicalName ? `'${family0.storedName('embedding.weight', config.format)}'` : `'backbone.embedding.weight' (or 'backbone.embeddings.weight')`;
      throw new UserError(`${weights.describe}: tensor ${stored} is missing`);
    }
    if (emb.shape.length !== 2 || emb.shape[1] !== config.dModel) {
      throw new UserError(`${emb.file}: tensor ${quoted(emb.key)} has shape ${shapeStr(emb.shape)}, expected [${config.paddedVocabSize}, ${config.dModel}]`);
    }
    if (config.format === 'hf') {
      if (emb.shape[0] < config.vocabSize) {
        throw new UserError(`${emb.file}: tensor ${quoted(emb.key)} has ${emb.shape[0]} rows, fewer than vocab_size ${config.vocabSize}`);
      }
      config = { ...config, paddedVocabSize: emb.shape[0] };
    }
    const tie = config.tieEmbeddings || !byName.has('lm_head.weight');
    config = { ...config, tieEmbeddings: tie };

    const family = familyOf(config);
    // Every layer has several tensors: a layer count above the number of stored tensors cannot match, and building
    // its expected shapes (a few entries per layer) would take minutes and fail for a huge n_layer.
    if (config.nLayer > byName.size) {
      const key = config.format === 'hf' ? 'num_hidden_layers' : 'n_layer';
      throw new UserError(`${configFile}: "${key}" is ${config.nLayer}, but ${weights.describe} holds only ${byName.size} tensors (a ${family.label(config)} layer has several)`);
    }
    const expected = family.expectedShapes(config);
    if (tie) expected.delete('lm_head.weight');
    const tensors = new Map<string, StoredTensor & { dtype: DType }>();
    for (const [name, shape] of expected) {
      const t = byName.get(name);
      if (!t) throw new UserError(`${weights.describe}: tensor '${family.storedName(name, config.format)}' is missing`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new UserError(`${t.file}: tensor ${quoted(t.key)} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)} from config.json`);
      }
      if (t.dtype === null) {
        throw new UserError(`${t.file}: tensor ${quoted(t.key)} has unsupported dtype ${clean(t.rawDType)} (supported: float32, float16, bfloat16)`);
      }
      tensors.set(name, t as StoredTensor & { dtype: DType });
    }
    for (const [name, t] of byName) {
      if (!expected.has(name) && !(name === 'lm_head.weight' && tie)) {
        throw new UserError(`${t.file}: unexpected tensor ${quoted(t.key)} (not part of a ${family.label(config)} model with this config.json)`);
      }
    }
    let largest: StoredTensor & { dtype: DType } = tensors.get('embedding.weight')!;
    for (const t of tensors.values()) if (t.byteLength > largest.byteLength) largest = t;
    const hash = computeHash(configBytes, weights.files, files);
    return new OpenCheckpoint(abs, config, hash, largest.dtype, tensors, files);
  } catch (e) {
    files.closeAll();
    throw e;
  }
}
