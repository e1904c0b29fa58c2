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

export class Matcher {
  /** patterns by first UTF-16 unit, longest first */
  private readonly byFirst = new Map<number, { text: string; tok: AddedToken }[]>();

  constructor(patterns: { text: string; tok: AddedToken }[]) {
    for (const p of patterns) {
      if (p.text.length === 0) continue;
      const k = p.text.charCodeAt(0);
      let list = this.byFirst.get(k);
      if (!list) this.byFirst.set(k, (list = []));
      // the first pattern given wins among equal texts
      if (!list.some((q) => q.text === p.text)) list.push(p);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.text.length - a.text.length);
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  /** Leftmost-longest non-overlapping matches: [start, end, token] in UTF-16 units. */
  scan(s: string): [number, number, AddedToken][] {
    const out: [number, number, AddedToken][] = [];
    if (this.byFirst.size === 0) return out;
    let i = 0;
    while (i < s.length) {
      const list = this.byFirst.get(s.charCodeAt(i));
      let hit: { text: string; tok: AddedToken } | undefined;
      if (list) for (const p of list) if (s.startsWith(p.text, i)) {
        hit = p;
        break;
      }
      if (hit) {
        out.push([i, i + hit.text.length, hit.tok]);
        i += hit.text.length;
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
