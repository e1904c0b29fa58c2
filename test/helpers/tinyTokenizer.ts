// A tiny byte-level BPE tokenizer.json (GPT-2 style) for small fixture models and tests.
// ids 0..255: the 256 byte-level symbols in GPT-2 bytes_to_unicode order; 256..: merged tokens, one per merge
// in rank order; then '<|endoftext|>' as a special added token. NFC normalizer, ByteLevel pre-tokenizer
// (add_prefix_space=false, trim_offsets=true, use_regex=true), ByteLevel post-processor and decoder.
import { writeFileSync } from 'node:fs';
import { BYTE_LEVEL_ORDER } from '../../src/engine/tokenizer/byteLevel';

/** Merges in rank order; each part must already be a token (a byte symbol or an earlier merge). */
export const TINY_MERGES: readonly [string, string][] = [
  ['Ġ', 't'], ['Ġ', 'a'], ['h', 'e'], ['Ġ', 'i'], ['Ġ', 's'], ['Ġ', 'o'], ['Ġ', 'w'], ['Ġ', 'c'],
  ['Ġ', 'b'], ['Ġ', 'f'], ['Ġ', 'p'], ['Ġ', 'm'], ['Ġ', 'd'], ['Ġ', 'h'], ['Ġ', 'T'], ['Ġt', 'he'],
  ['i', 'n'], ['e', 'r'], ['o', 'n'], ['e', 'd'], ['r', 'e'], ['a', 't'], ['e', 'n'], ['o', 'r'],
  ['i', 's'], ['i', 't'], ['a', 'n'], ['a', 'r'], ['a', 'l'], ['n', 'g'], ['in', 'g'], ['e', 's'],
  ['o', 'u'], ['l', 'e'], ['Ġo', 'f'], ['n', 'd'], ['Ġa', 'nd'], ['Ġt', 'o'], ['Ġi', 's'], ['Ġi', 'n'],
  ['ĠT', 'he'], ['Ġ', 'Ġ'],
];

export const TINY_EOS = '<|endoftext|>';

/** The tokenizer.json object. Vocabulary size = 256 + TINY_MERGES.length + 1 (the last id is '<|endoftext|>'). */
export function tinyTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  BYTE_LEVEL_ORDER.forEach((s, i) => (vocab[s] = i));
  let next = 256;
  for (const [a, b] of TINY_MERGES) {
    if (!(a in vocab) || !(b in vocab)) throw new Error(`tiny tokenizer: merge '${a} ${b}' uses an unknown part`);
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const eosId = next;
  vocab[TINY_EOS] = eosId;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eosId, content: TINY_EOS, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'NFC' },
    pre_tokenizer: { ...byteLevel },
    post_processor: { ...byteLevel },
    decoder: { ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: TINY_MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Writes the tiny tokenizer.json to `path`. */
export function writeTinyTokenizer(path: string): void {
  writeFileSync(path, JSON.stringify(tinyTokenizerJson(), null, 1));
}
