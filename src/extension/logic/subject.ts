// Subject handling for "Trace Factual Flow": a guess from the prompt and validation. No `vscode` import.

const WORD = /[\p{Lu}\p{Lt}][\p{L}\p{M}\p{N}'’.-]*/u;

/**
 * Guesses the subject of a factual prompt: the longest run of consecutive capitalised words (by characters;
 * the earliest on ties). Sentence-initial function words ("The", "A", ...) start a run only when the next word is
 * capitalised too ("The Beatles"). Falls back to the longest word, then ''. E.g. "Beats Music is owned by" → "Beats Music".
 */
export function guessSubject(prompt: string): string {
  const words: { text: string; start: number; end: number; cap: boolean }[] = [];
  const re = /[^\s,;:!?()"“”]+/gu;
  for (let m = re.exec(prompt); m; m = re.exec(prompt)) {
    let text = m[0].replace(/[.'’]+$/u, (s) => (s === '.' && /^\p{Lu}\.?$/u.test(m![0]) ? s : ''));
    if (/'s$|’s$/u.test(text)) text = text.slice(0, -2);
    if (text.length === 0) continue;
    words.push({ text, start: m.index, end: m.index + text.length, cap: WORD.test(text) && new RegExp(`^${WORD.source}$`, 'u').test(text) });
  }
  let best = '';
  let i = 0;
  while (i < words.length) {
    if (!words[i].cap) {
      i++;
      continue;
    }
    let j = i;
    // a run continues over capitalised words separated only by spaces (and "of"/"de" between capitalised words)
    while (j + 1 < words.length && words[j + 1].cap && /^\s+$/u.test(prompt.slice(words[j].end, words[j + 1].start))) j++;
    let from = i;
    if (from < j && /^(The|A|An|In|On|At|Of)$/u.test(words[from].text) && words[from].start === firstWordStart(prompt)) from++;
    if (from === j && j === i && /^(The|A|An|In|On|At|Of|It|This|That|These|Those|What|Who|Which|When|Where)$/u.test(words[i].text)) {
      i = j + 1;
      continue;
    }
    const span = prompt.slice(words[from].start, words[j].end);
    if (span.length > best.length) best = span;
    i = j + 1;
  }
  return best;
}

function firstWordStart(prompt: string): number {
  const m = /\S/u.exec(prompt);
  return m ? m.index : 0;
}

/** Returns an error message when the subject is unusable for the prompt, else undefined. */
export function validateSubject(prompt: string, subject: string): string | undefined {
  if (subject.trim().length === 0) return 'The subject must not be empty.';
  if (!prompt.includes(subject)) return `The subject '${subject}' does not occur in the prompt '${prompt}'.`;
  if (subject.trim() === prompt.trim()) return 'The subject must be a part of the prompt, not all of it (the last token is the query).';
  return undefined;
}
