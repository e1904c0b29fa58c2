// Turns editor selections into a prompt (+ optional subject). No `vscode` import: offsets only.

export interface TextSelection {
  /** selected text */
  text: string;
  /** document offsets [start, end) */
  start: number;
  end: number;
}

export interface PromptSelection {
  prompt: string;
  /** from a second selection inside (or equal to a substring of) the prompt, when there is one */
  subject?: string;
}

/** Collapses whitespace runs (newlines included) to one space and trims: the selection becomes a one-line prompt. */
export function normalisePrompt(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/**
 * The prompt is the longest non-empty selection; the subject comes from another non-empty selection whose text
 * occurs in the prompt (the first such one, in selection order). Returns undefined when nothing is selected.
 */
export function promptFromSelections(selections: readonly TextSelection[]): PromptSelection | undefined {
  const nonEmpty = selections.filter((s) => normalisePrompt(s.text).length > 0);
  if (nonEmpty.length === 0) return undefined;
  let main = nonEmpty[0];
  for (const s of nonEmpty) if (normalisePrompt(s.text).length > normalisePrompt(main.text).length) main = s;
  const prompt = normalisePrompt(main.text);
  for (const s of nonEmpty) {
    if (s === main) continue;
    const subject = normalisePrompt(s.text);
    if (subject.length > 0 && prompt.includes(subject) && subject !== prompt) return { prompt, subject };
  }
  return { prompt };
}
