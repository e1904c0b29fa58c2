// How tokens are shown to a reader (terminal, report, figures): with their leading space, and a multi-byte character
// that byte-level BPE splits into several tokens shown once. Pure string helpers, no I/O.

/** The mark of a byte-level piece that continues the previous token's character (shown instead of repeating it). */
export const CONTINUATION = '(cont.)';

/**
 * Visible form of a token's text: spaces as '·' (so ' Tower' reads '·Tower' and a lone space '·'), newline '⏎',
 * tab '⇥', other control characters as \uXXXX; '' (a piece that adds no character of its own) → CONTINUATION.
 */
export function visibleToken(text: string): string {
  if (text === '') return CONTINUATION;
  return text
    .replace(/ /g, '·')
    .replace(/\r?\n/g, '⏎')
    .replace(/\t/g, '⇥')
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The characters each token adds to the prompt, from the token offsets: whitespace between the previous token's end
 * and a token's start belongs to the token (byte-level BPE attaches the space to the following word, and its offsets
 * leave the space out), and a token whose span the previous tokens already covered — the 2nd, 3rd … byte of a
 * character that the tokenizer split into byte pieces, which all carry the character's offsets — adds '' (shown as
 * CONTINUATION). Falls back to `fallback[i]` (e.g. the decoded token) when offsets are missing or out of order.
 */
export function tokenPieces(prompt: string, tokens: readonly { start: number; end: number }[], fallback?: readonly string[]): string[] {
  let covered = 0;
  return tokens.map((t, i) => {
    const { start, end } = t;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start && end <= prompt.length)) return fallback?.[i] ?? '';
    if (end <= covered && end > start) return '';
    const from = start >= covered && /^\s*$/.test(prompt.slice(covered, start)) ? covered : start;
    covered = Math.max(covered, end);
    const s = prompt.slice(from, end);
    return s !== '' ? s : (fallback?.[i] ?? '');
  });
}

/** Visible token labels of a prompt (tokenPieces → visibleToken). */
export function tokenLabels(prompt: string, tokens: readonly { start: number; end: number }[], fallback?: readonly string[]): string[] {
  return tokenPieces(prompt, tokens, fallback).map(visibleToken);
}

/**
 * Visible labels of decoded token texts (when no offsets are at hand, e.g. older dataset records): a run of U+FFFD
 * replacement characters — the byte pieces of one character decoded one at a time — shows the mark once and
 * CONTINUATION after it.
 */
export function decodedLabels(decoded: readonly string[]): string[] {
  return decoded.map((d, i) => (d === '\ufffd' && i > 0 && decoded[i - 1] === '\ufffd' ? CONTINUATION : visibleToken(d)));
}
