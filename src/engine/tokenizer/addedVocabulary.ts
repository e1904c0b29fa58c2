// HF `AddedVocabulary`: added tokens (special or not) are split out of the text before the model sees it.
// Tokens with normalized=false are matched on the original text, the others on the normalised pieces.
// Matching is leftmost-longest (HF uses an Aho-Corasick automaton with MatchKind::LeftmostLongest), then the
// single_word / lstrip / rstrip rules of `find_matches` apply.
import { Piece, pieceText, slicePiece } from './normalize';

export interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

const WORD_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u; // Rust regex `\w$`
const WORD_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u; // `^\w`
const SPACE_AT_END = /\p{White_Space}*$/u; // `\s*$`
const SPACE_AT_START = /^\p{White_Space}*/u; // `^\s*`

type Pattern = { text: string; tok: AddedToken };

/** Patterns longer than this are stored at the trie node of their first DEPTH units and compared there. */
const DEPTH = 64;

export class Matcher {
  /**
   * The patterns as a trie of UTF-16 units, compact: node ids, one map of edges keyed node · 2^16 + unit. The longest
   * match at a position is one walk from the root (HF uses an Aho-Corasick automaton): a scan of every pattern per
   * position, or a list per first unit, is quadratic with tens of thousands of added tokens.
   */
  private readonly edges = new Map<number, number>();
  private readonly hits = new Map<number, Pattern>();
  /** patterns longer than DEPTH, by the node of their first DEPTH units, longest first */
  private readonly long = new Map<number, Pattern[]>();
  private nodes = 1; // 0 = the root

  constructor(patterns: Pattern[]) {
    const seen = new Set<string>();
    for (const p of patterns) {
      // the first pattern given wins among equal texts
      if (p.text.length === 0 || seen.has(p.text)) continue;
      seen.add(p.text);
      let node = 0;
      const n = Math.min(p.text.length, DEPTH);
      for (let i = 0; i < n; i++) {
        const key = node * 65536 + p.text.charCodeAt(i);
        let child = this.edges.get(key);
        if (child === undefined) this.edges.set(key, (child = this.nodes++));
        node = child;
      }
      if (p.text.length <= DEPTH) this.hits.set(node, p);
      else {
        const list = this.long.get(node) ?? [];
        list.push(p);
        this.long.set(node, list);
      }
    }
    for (const list of this.long.values()) list.sort((a, b) => b.text.length - a.text.length);
  }

  get empty(): boolean {
    return this.nodes === 1;
  }

  /** Leftmost-longest non-overlapping matches: [start, end, token] in UTF-16 units. */
  scan(s: string): [number, number, AddedToken][] {
    const out: [number, number, AddedToken][] = [];
    if (this.empty) return out;
    let i = 0;
    while (i < s.length) {
      let node = 0;
      let best: Pattern | undefined;
      for (let j = i; j < s.length && j - i < DEPTH; j++) {
        const next = this.edges.get(node * 65536 + s.charCodeAt(j));
        if (next === undefined) break;
        node = next;
        const hit = this.hits.get(node);
        if (hit) best = hit;
        if (j - i === DEPTH - 1) {
          const longer = this.long.get(node)?.find((p) => s.startsWith(p.text, i));
          if (longer) best = longer;
        }
      }
      if (best) {
        out.push([i, i + best.text.length, best.tok]);
        i += best.text.length;
      } else i++;
    }
    return out;
  }

  /** HF `find_matches` + `split_with_indices` on one piece. */
  split(p: Piece): Piece[] {
    const s = pieceText(p);
    if (s.length === 0) return [p];
    const splits: [number, number, AddedToken | null][] = [];
    let startOffset = 0;
    for (const [mStart, mStop, tok] of this.scan(s)) {
      let start = mStart;
      let stop = mStop;
      if (tok.singleWord) {
        const startSpace = start === 0 || !WORD_END.test(s.slice(0, start));
        const stopSpace = stop === s.length || !WORD_START.test(s.slice(stop));
        if (!stopSpace || !startSpace) continue;
      }
      if (tok.lstrip) {
        const before = s.slice(0, start);
        const m = SPACE_AT_END.exec(before);
        const newStart = m ? m.index : before.length;
        start = Math.max(newStart, startOffset);
      }
      if (tok.rstrip) {
        const m = SPACE_AT_START.exec(s.slice(stop));
        stop += m ? m[0].length : 0;
      }
      if (startOffset < start) splits.push([startOffset, start, null]);
      splits.push([start, stop, tok]);
      startOffset = stop;
    }
    if (startOffset !== s.length) splits.push([startOffset, s.length, null]);
    // UTF-16 -> code points of the piece
    const idx: number[] = [];
    let k = 0;
    for (let i = 0; i < s.length; i++) {
      idx.push(k);
      const u = s.charCodeAt(i);
      if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length) {
        const v = s.charCodeAt(i + 1);
        if (v >= 0xdc00 && v <= 0xdfff) {
          idx.push(k);
          i++;
        }
      }
      k++;
    }
    idx.push(k);
    return splits.map(([a, b, tok]) => {
      const q = slicePiece(p, idx[a], idx[b]);
      if (tok) q.added = { id: tok.id, value: s.slice(a, b) };
      return q;
    });
  }
}
