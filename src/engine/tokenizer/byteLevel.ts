// GPT-2 byte-level alphabet: every byte 0..255 is mapped to one printable Unicode character
// (the `bytes_to_unicode` table of GPT-2 / HF tokenizers), so that BPE can work on strings.

/** BYTE_TO_CHAR[b] = the printable character standing for byte b (e.g. 0x20 -> 'Ġ'). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out: string[] = new Array(256);
  for (let i = 0; i < bs.length; i++) out[bs[i]] = String.fromCodePoint(cs[i]);
  return out;
})();

/** The 256 byte-level symbols in GPT-2 `bytes_to_unicode` order (printable bytes first, then the remapped ones). */
export const BYTE_LEVEL_ORDER: readonly string[] = (() => {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order.map((b) => BYTE_TO_CHAR[b]);
})();

/** Inverse of BYTE_TO_CHAR: character code -> byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Byte-level decode of a list of token strings (HF ByteLevel decoder): tokens made only of byte-level
 * characters are turned back into their bytes, other tokens (e.g. added tokens such as '  ') keep their
 * own UTF-8 bytes; the bytes are then decoded as UTF-8 with U+FFFD for invalid sequences. */
export function byteLevelDecode(tokens: string[]): string {
  const bytes: number[] = [];
  for (const t of tokens) {
    const mine: number[] = [];
    let ok = true;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) {
        ok = false;
        break;
      }
      mine.push(b);
    }
    if (ok) for (const b of mine) bytes.push(b);
    else for (const b of Buffer.from(t, 'utf8')) bytes.push(b);
  }
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(Uint8Array.from(bytes));
}
