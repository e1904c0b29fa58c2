// Text pieces with alignments to the original input, and the normalisers of HF `tokenizers`
// (NFC, NFD, NFKC, NFKD, Lowercase, Sequence), reproducing its alignment bookkeeping exactly:
// `NormalizedString::transform_range` fed by the `unicode-normalization-alignments` iterators.
import { combiningClass } from './combiningClass';

/**
 * A piece of the input being tokenised: its current (normalised) code points and, for each one, the range
 * [start, end) of ORIGINAL code points it stands for (absolute code-point indices into the input).
 * HF keeps one alignment per UTF-8 byte, but all bytes of one character always share it, so one per
 * code point is equivalent.
 */
export interface Piece {
  cps: number[];
  start: number[];
  end: number[];
  /** absolute original code-point index where this piece begins (HF `original_shift`) */
  shift: number;
  /** set when the piece is an extracted added token: [id, token string] */
  added?: { id: number; value: string };
}

export function pieceText(p: Piece): string {
  let s = '';
  for (let i = 0; i < p.cps.length; i += 4096) s += String.fromCodePoint(...p.cps.slice(i, i + 4096));
  return s;
}

/** Sub-piece of code points [a, b) (HF `NormalizedString::slice` with a normalized range). */
export function slicePiece(p: Piece, a: number, b: number): Piece {
  return { cps: p.cps.slice(a, b), start: p.start.slice(a, b), end: p.end.slice(a, b), shift: b > a ? p.start[a] : p.shift };
}

/**
 * HF `transform_range` over the whole piece. `dest` yields each new character with its change:
 * 1 = inserted, 0 = replaces the next original character, -N = replaces it and removes N more.
 */
export function transform(p: Piece, dest: ArrayLike<number>, changes: ArrayLike<number>, initialOffset = 0): void {
  const n = p.cps.length;
  const cps: number[] = [];
  const st: number[] = [];
  const en: number[] = [];
  let offset = Math.min(initialOffset, n);
  for (let i = 0; i < dest.length; i++) {
    const ch = changes[i];
    const idx = offset;
    let s: number;
    let e: number;
    if (ch > 0) {
      if (idx < 1) {
        s = p.shift;
        e = p.shift;
      } else {
        s = p.start[idx - 1];
        e = p.end[idx - 1];
      }
    } else {
      // (HF would panic past the end; clamp instead)
      const j = Math.min(idx, n - 1);
      s = j >= 0 ? p.start[j] : p.shift;
      e = j >= 0 ? p.end[j] : p.shift;
      if (offset < n) offset++;
      if (ch < 0) offset = Math.min(n, offset - ch);
    }
    cps.push(dest[i]);
    st.push(s);
    en.push(e);
  }
  p.cps = cps;
  p.start = st;
  p.end = en;
}

// ---- Unicode normalisation with change tracking ----

// HF tokenizers normalises with the `unicode-normalization-alignments` crate, whose Unicode tables are older
// than ours (Python's Unicode 14 combining classes, JavaScript's Unicode 16+ decompositions). These are the
// code points that it does not know, found by comparing with HF (tokenizers 0.23) over all of Unicode:
// combining classes it takes as 0, and canonical / compatibility decompositions it does not apply (nor compose).
function cpSet(items: (number | [number, number])[]): Set<number> {
  const s = new Set<number>();
  for (const it of items) {
    if (typeof it === 'number') s.add(it);
    else for (let c = it[0]; c <= it[1]; c++) s.add(c);
  }
  return s;
}
const HF_CCC_ZERO = cpSet([0x7fd, [0x898, 0x89f], [0x8ca, 0x8d3], 0x9fe, 0xc3c, [0xd3b, 0xd3c], 0xeba, 0x1715, [0x1abf, 0x1ace], [0x1df6, 0x1dfa], 0xa82c, [0x10d24, 0x10d27], [0x10eab, 0x10eac], [0x10f46, 0x10f50], [0x10f82, 0x10f85], 0x11070, 0x1133b, 0x1145e, [0x11839, 0x1183a], [0x1193d, 0x1193e], 0x11943, 0x119e0, 0x11a34, 0x11a47, 0x11a99, 0x11d42, [0x11d44, 0x11d45], 0x11d97, [0x16ff0, 0x16ff1], [0x1e130, 0x1e136], 0x1e2ae, [0x1e2ec, 0x1e2ef]]);
const HF_NO_NFD = cpSet([0x105c9, 0x105e4, 0x11383, 0x11385, 0x1138e, 0x11391, 0x113c5, [0x113c7, 0x113c8], 0x11938, [0x16121, 0x16128], [0x16d68, 0x16d6a]]);
const HF_NO_NFKD = cpSet([0x32ff, [0xa7f1, 0xa7f4], 0xab69, 0x105c9, 0x105e4, [0x10781, 0x10785], [0x10787, 0x107b0], [0x107b2, 0x107ba], 0x11383, 0x11385, 0x1138e, 0x11391, 0x113c5, [0x113c7, 0x113c8], 0x11938, [0x16121, 0x16128], [0x16d68, 0x16d6a], [0x1ccd6, 0x1ccf9], [0x1e030, 0x1e06d], 0x1f16c, [0x1fbf0, 0x1fbf9]]);

function ccc(cp: number): number {
  return HF_CCC_ZERO.has(cp) ? 0 : combiningClass(cp);
}

const decompCache = [new Map<number, number[]>(), new Map<number, number[]>()];

function decomposition(cp: number, compat: boolean): number[] {
  const cache = decompCache[compat ? 1 : 0];
  let d = cache.get(cp);
  if (!d) {
    const unknown = compat ? HF_NO_NFKD : HF_NO_NFD;
    const s = unknown.has(cp) ? String.fromCodePoint(cp) : String.fromCodePoint(cp).normalize(compat ? 'NFKD' : 'NFD');
    d = [];
    for (const c of s) d.push(c.codePointAt(0)!);
    cache.set(cp, d);
  }
  return d;
}

const composeCache = new Map<number, number>();

/** Primary composite of the pair (a, b), or -1. */
function compose(a: number, b: number): number {
  const key = a * 0x110000 + b;
  let r = composeCache.get(key);
  if (r === undefined) {
    r = -1;
    const pair = String.fromCodePoint(a) + String.fromCodePoint(b);
    const c = pair.normalize('NFC');
    const cp = c.codePointAt(0)!;
    if (c.length === (cp > 0xffff ? 2 : 1) && !HF_NO_NFD.has(cp)) {
      // a single character: it is the composite of (a, b) only if its full decomposition is a's followed by b
      const dr = c.normalize('NFD');
      if (dr === String.fromCodePoint(a).normalize('NFD') + String.fromCodePoint(b)) r = cp;
    }
    composeCache.set(key, r);
  }
  return r;
}

/** `unicode-normalization-alignments` Decompositions: (char, change) with canonical reordering. */
function decompose(cps: number[], compat: boolean): { cp: number[]; ch: number[] } {
  const cp: number[] = [];
  const ch: number[] = [];
  const cls: number[] = [];
  let pending = 0;
  const sortPending = () => {
    const len = cp.length - pending;
    if (len > 1) {
      const idx = Array.from({ length: len }, (_, i) => pending + i);
      idx.sort((x, y) => cls[x] - cls[y] || x - y);
      const c2 = idx.map((i) => cp[i]);
      const h2 = idx.map((i) => ch[i]);
      const k2 = idx.map((i) => cls[i]);
      for (let i = 0; i < len; i++) {
        cp[pending + i] = c2[i];
        ch[pending + i] = h2[i];
        cls[pending + i] = k2[i];
      }
    }
    pending = cp.length;
  };
  for (const c of cps) {
    const d = decomposition(c, compat);
    for (let i = 0; i < d.length; i++) {
      const k = ccc(d[i]);
      if (k === 0) sortPending();
      cp.push(d[i]);
      ch.push(i === 0 ? 0 : 1);
      cls.push(k);
    }
  }
  sortPending();
  return { cp, ch };
}

/** `unicode-normalization-alignments` Recompositions. */
function recompose(dec: { cp: number[]; ch: number[] }): { cp: number[]; ch: number[] } {
  const cp: number[] = [];
  const ch: number[] = [];
  let bufCp: number[] = [];
  let bufCh: number[] = [];
  let kCp = -1;
  let kCh = 0;
  let lastCcc = -1; // -1 = None
  const flush = () => {
    for (let i = 0; i < bufCp.length; i++) {
      cp.push(bufCp[i]);
      ch.push(bufCh[i]);
    }
    bufCp = [];
    bufCh = [];
  };
  for (let i = 0; i < dec.cp.length; i++) {
    const c = dec.cp[i];
    const change = dec.ch[i];
    const cls = ccc(c);
    if (kCp < 0) {
      if (cls !== 0) {
        cp.push(c);
        ch.push(change);
        continue;
      }
      kCp = c;
      kCh = change;
      continue;
    }
    if (lastCcc < 0) {
      const r = compose(kCp, c);
      if (r >= 0) {
        kCp = r;
        kCh = kCh + change - 1;
        continue;
      }
      if (cls === 0) {
        cp.push(kCp);
        ch.push(kCh);
        kCp = c;
        kCh = change;
        continue;
      }
      bufCp.push(c);
      bufCh.push(change);
      lastCcc = cls;
    } else {
      if (lastCcc >= cls) {
        if (cls === 0) {
          cp.push(kCp);
          ch.push(kCh);
          flush();
          kCp = c;
          kCh = change;
          lastCcc = -1;
          continue;
        }
        bufCp.push(c);
        bufCh.push(change);
        lastCcc = cls;
        continue;
      }
      const r = compose(kCp, c);
      if (r >= 0) {
        kCp = r;
        kCh = kCh + change - 1;
        continue;
      }
      bufCp.push(c);
      bufCh.push(change);
      lastCcc = cls;
    }
  }
  if (kCp >= 0) {
    cp.push(kCp);
    ch.push(kCh);
  }
  flush();
  return { cp, ch };
}

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

export function unicodeNormalize(p: Piece, form: UnicodeForm): void {
  if (form === 'NFC' && p.cps.every((c) => c < 0x300)) return; // identity, all changes 0
  const compat = form === 'NFKC' || form === 'NFKD';
  let r = decompose(p.cps, compat);
  if (form === 'NFC' || form === 'NFKC') r = recompose(r);
  transform(p, r.cp, r.ch, 0);
}

export function lowercase(p: Piece): void {
  const cp: number[] = [];
  const ch: number[] = [];
  for (const c of p.cps) {
    let i = 0;
    for (const l of String.fromCodePoint(c).toLowerCase()) {
      cp.push(l.codePointAt(0)!);
      ch.push(i++ > 0 ? 1 : 0);
    }
  }
  transform(p, cp, ch, 0);
}

export type NormalizerFn = (p: Piece) => void;
