// Byte-pair-encoding model (HF `tokenizers` models::bpe::BPE, without dropout): the same merge order as
// HF's `Word::merge_all` (a priority queue on (merge rank, position)).

export interface BpeOptions {
  vocab: Map<string, number>;
  /** merges in rank order */
  merges: [string, string][];
  unkToken: string | null;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
}

/** One model token: id and [start, end) in characters (code points) of the word. */
export interface BpeToken {
  id: number;
  start: number;
  end: number;
}

const PAIR = 0x4000000; // 2^26: ids must stay below this

/** A word the model cannot tokenise because of its file (HF: UnkTokenOutOfVocabulary), thrown by tokenize. */
export class BpeInputError extends Error {}

export class Bpe {
  readonly vocab: Map<string, number>;
  readonly vocabR: Map<number, string>;
  private readonly merges = new Map<number, number>(); // pair key -> index into ranks/newIds
  private readonly mergeRank: number[] = [];
  private readonly mergeNew: number[] = [];
  private readonly cache = new Map<string, BpeToken[]>();
  private static readonly CACHE_MAX = 10000;

  constructor(private readonly o: BpeOptions, fail: (msg: string) => never) {
    this.vocab = o.vocab;
    this.vocabR = new Map();
    for (const [t, id] of o.vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= PAIR) {
        // not String(id): a (hostile) nested list would overflow the call stack on its way into the message
        const shown = typeof id === 'number' ? String(id) : typeof id === 'string' ? JSON.stringify(id) : Array.isArray(id) ? '(a list)' : `(${id === null ? 'null' : typeof id})`;
        fail(`vocabulary id ${shown} of token '${t}' is not a valid id`);
      }
      this.vocabR.set(id, t);
    }
    const prefixLen = o.continuingSubwordPrefix?.length ?? 0;
    o.merges.forEach(([a, b], rank) => {
      const aId = o.vocab.get(a);
      const bId = o.vocab.get(b);
      if (aId === undefined) fail(`merge '${a} ${b}': '${a}' is not in the vocabulary`);
      if (bId === undefined) fail(`merge '${a} ${b}': '${b}' is not in the vocabulary`);
      const merged = a + b.slice(prefixLen);
      const newId = o.vocab.get(merged);
      if (newId === undefined) fail(`merge '${a} ${b}': '${merged}' is not in the vocabulary`);
      const key = aId * PAIR + bId;
      let slot = this.merges.get(key);
      if (slot === undefined) {
        slot = this.mergeRank.length;
        this.merges.set(key, slot);
        this.mergeRank.push(rank);
        this.mergeNew.push(newId);
      } else {
        this.mergeRank[slot] = rank;
        this.mergeNew[slot] = newId;
      }
    });
  }

  /** Tokenises one pre-tokenised word. Offsets are in code points of `word`. */
  tokenize(word: string): BpeToken[] {
    if (word.length === 0) return [];
    if (this.o.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return [{ id, start: 0, end: cpLength(word) }];
    }
    const hit = this.cache.get(word);
    if (hit) return hit;
    const out = this.mergeWord(word);
    if (this.cache.size >= Bpe.CACHE_MAX) this.cache.clear();
    this.cache.set(word, out);
    return out;
  }

  private mergeWord(w: string): BpeToken[] {
    const chars = Array.from(w);
    const ids: number[] = [];
    const lens: number[] = []; // in UTF-8 bytes, as HF
    let unkId = -1;
    let unkLen = 0;
    const o = this.o;
    for (let i = 0; i < chars.length; i++) {
      let s = chars[i];
      if (i > 0 && o.continuingSubwordPrefix) s = o.continuingSubwordPrefix + s;
      if (i === chars.length - 1 && o.endOfWordSuffix) s = s + o.endOfWordSuffix;
      const byteLen = utf8Len(chars[i].codePointAt(0)!);
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unkId >= 0) {
          ids.push(unkId);
          lens.push(unkLen);
          unkId = -1;
        }
        ids.push(id);
        lens.push(byteLen);
        continue;
      }
      if (o.byteFallback) {
        const bytes = Buffer.from(s, 'utf8');
        const fb: number[] = [];
        for (const b of bytes) {
          const t = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
          if (t === undefined) break;
          fb.push(t);
        }
        if (fb.length === bytes.length) {
          for (const t of fb) {
            ids.push(t);
            lens.push(1);
          }
          continue;
        }
      }
      if (o.unkToken !== null) {
        const u = this.vocab.get(o.unkToken);
        if (u === undefined) throw new BpeInputError(`unk_token '${o.unkToken}' is not in the vocabulary`);
        if (unkId >= 0 && o.fuseUnk) unkLen += byteLen;
        else {
          if (unkId >= 0) {
            ids.push(unkId);
            lens.push(unkLen);
          }
          unkId = u;
          unkLen = byteLen;
        }
      }
    }
    if (unkId >= 0) {
      ids.push(unkId);
      lens.push(unkLen);
    }
    const merged = this.mergeAll(ids, lens);
    // byte offsets (HF) -> code-point offsets of the word
    const charOfByte: number[] = [];
    chars.forEach((ch, k) => {
      for (let b = utf8Len(ch.codePointAt(0)!); b > 0; b--) charOfByte.push(k);
    });
    const last = chars.length;
    return merged.map((t) => ({
      id: t.id,
      start: t.start < charOfByte.length ? charOfByte[t.start] : last,
      end: t.end > t.start ? (t.end - 1 < charOfByte.length ? charOfByte[t.end - 1] + 1 : last) : t.start < charOfByte.length ? charOfByte[t.start] : last,
    }));
  }

  private mergeAll(ids: number[], lens: number[]): BpeToken[] {
    const n = ids.length;
    const c = Int32Array.from(ids);
    const len = Int32Array.from(lens);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const removed = new Uint8Array(n);
    // binary min-heap on (rank, pos)
    const hRank: number[] = [];
    const hPos: number[] = [];
    const hNew: number[] = [];
    const less = (i: number, j: number) => hRank[i] < hRank[j] || (hRank[i] === hRank[j] && hPos[i] < hPos[j]);
    const swap = (i: number, j: number) => {
      let t = hRank[i];
      hRank[i] = hRank[j];
      hRank[j] = t;
      t = hPos[i];
      hPos[i] = hPos[j];
      hPos[j] = t;
      t = hNew[i];
      hNew[i] = hNew[j];
      hNew[j] = t;
    };
    const push = (rank: number, pos: number, newId: number) => {
      hRank.push(rank);
      hPos.push(pos);
      hNew.push(newId);
      let i = hRank.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        swap(i, p);
        i = p;
      }
    };
    const pop = () => {
      const last = hRank.length - 1;
      swap(0, last);
      const r = { rank: hRank.pop()!, pos: hPos.pop()!, newId: hNew.pop()! };
      let i = 0;
      const m = hRank.length;
      for (;;) {
        const l = 2 * i + 1;
        const rr = l + 1;
        let s = i;
        if (l < m && less(l, s)) s = l;
        if (rr < m && less(rr, s)) s = rr;
        if (s === i) break;
        swap(i, s);
        i = s;
      }
      return r;
    };
    const lookup = (a: number, b: number) => this.merges.get(a * PAIR + b);
    for (let i = 0; i + 1 < n; i++) {
      const m = lookup(c[i], c[i + 1]);
      if (m !== undefined) push(this.mergeRank[m], i, this.mergeNew[m]);
    }
    while (hRank.length > 0) {
      const top = pop();
      const pos = top.pos;
      if (removed[pos]) continue;
      const nx = next[pos];
      if (nx === -1) continue;
      const m = lookup(c[pos], c[nx]);
      if (m === undefined || this.mergeNew[m] !== top.newId) continue;
      // merge pos with nx
      c[pos] = top.newId;
      len[pos] += len[nx];
      next[pos] = next[nx];
      removed[nx] = 1;
      if (next[nx] !== -1) prev[next[nx]] = pos;
      const pv = prev[pos];
      if (pv >= 0) {
        const m2 = lookup(c[pv], c[pos]);
        if (m2 !== undefined) push(this.mergeRank[m2], pv, this.mergeNew[m2]);
      }
      const nn = next[pos];
      if (nn !== -1) {
        const m3 = lookup(c[pos], c[nn]);
        if (m3 !== undefined) push(this.mergeRank[m3], pos, this.mergeNew[m3]);
      }
    }
    const out: BpeToken[] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      if (removed[i]) continue;
      out.push({ id: c[i], start: off, end: off + len[i] });
      off += len[i];
    }
    return out;
  }
}

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

function cpLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0xd800 || u > 0xdbff || i + 1 >= s.length) n++;
    else {
      const v = s.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) i++;
      n++;
    }
  }
  return n;
}
