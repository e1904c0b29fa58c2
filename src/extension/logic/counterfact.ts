// Finds the records of a COUNTERFACT-style JSON document for the "Trace" CodeLens. No `vscode` import.

export interface TraceableRecord {
  /** offset of the record's opening '{' in the document */
  offset: number;
  prompt: string;
  subject: string;
  target?: string;
}

/** A record is traceable when it has prompt+subject, or a requested_rewrite {prompt (with '{}'), subject, target_true}. */
export function recordToTrace(rec: unknown): Omit<TraceableRecord, 'offset'> | undefined {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return undefined;
  const r = rec as Record<string, unknown>;
  const rr = r.requested_rewrite;
  if (typeof rr === 'object' && rr !== null && !Array.isArray(rr)) {
    const q = rr as Record<string, unknown>;
    if (typeof q.prompt === 'string' && typeof q.subject === 'string') {
      const prompt = q.prompt.includes('{}') ? q.prompt.replace('{}', q.subject) : q.prompt;
      const tt = q.target_true as Record<string, unknown> | undefined;
      const target = typeof tt?.str === 'string' ? tt.str : undefined;
      if (prompt.includes(q.subject)) return { prompt, subject: q.subject, target: target === undefined ? undefined : target.startsWith(' ') ? target : ' ' + target };
    }
  }
  if (typeof r.prompt === 'string' && typeof r.subject === 'string') {
    const prompt = r.prompt.includes('{}') ? r.prompt.replace('{}', r.subject) : r.prompt;
    const t = typeof r.target_true === 'string' ? r.target_true : typeof r.target === 'string' ? r.target : typeof r.attribute === 'string' ? r.attribute : undefined;
    if (prompt.includes(r.subject)) return { prompt, subject: r.subject, target: t };
  }
  return undefined;
}

/**
 * Offsets of the top-level array's elements (or of the single top-level object) in a JSON text, by a small
 * scanner that respects strings. Returns [] when the text is not an array/object.
 */
export function topLevelElementOffsets(text: string): number[] {
  let i = 0;
  while (i < text.length && /\s/u.test(text[i])) i++;
  if (text[i] === '{') return [i];
  if (text[i] !== '[') return [];
  const out: number[] = [];
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      if (depth === 1) out.push(i);
    } else if (c === '[' || c === '{') {
      if (depth === 1) out.push(i);
      depth++;
    } else if (c === ']' || c === '}') depth--;
    else if (depth === 1 && /[-0-9tfn]/u.test(c) && !/[-0-9.eE+a-z]/u.test(text[i - 1] ?? '')) out.push(i);
  }
  return out;
}

/** The traceable records of a JSON document, with offsets; [] when it does not parse or has none. */
export function findTraceableRecords(text: string, maxRecords = 5000): TraceableRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const items = Array.isArray(data) ? data : [data];
  const offsets = topLevelElementOffsets(text);
  if (offsets.length !== items.length) return [];
  const out: TraceableRecord[] = [];
  for (let k = 0; k < items.length && out.length < maxRecords; k++) {
    const r = recordToTrace(items[k]);
    if (r) out.push({ offset: offsets[k], ...r });
  }
  return out;
}
