// config.json files written by Python's json module (transformers < 5 among them) may hold the bare literals
// Infinity, -Infinity and NaN, which strict JSON does not allow; transformers ≥ 5 writes {"__float__": "Infinity"}.
// parsePythonJson accepts both spellings and returns plain numbers.

/** Rewrites bare Infinity / -Infinity / NaN outside strings into forms JSON.parse accepts (1e999 parses to Infinity). */
export function toStrictJson(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      // copy a string literal verbatim, escapes included
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('-Infinity', i)) {
      out += '-1e999';
      i += 9;
    } else if (text.startsWith('Infinity', i)) {
      out += '1e999';
      i += 8;
    } else if (text.startsWith('NaN', i)) {
      out += 'null';
      i += 3;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function revive(_key: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const f = (v as Record<string, unknown>).__float__;
    if (keys.length === 1 && typeof f === 'string') {
      if (f === 'Infinity' || f === 'inf') return Infinity;
      if (f === '-Infinity' || f === '-inf') return -Infinity;
      if (f === 'NaN' || f === 'nan') return NaN;
    }
  }
  return v;
}

/** JSON.parse that also accepts Python's Infinity/NaN literals and transformers 5's {"__float__": …} objects. */
export function parsePythonJson(text: string): unknown {
  let s = text;
  try {
    return JSON.parse(s, revive);
  } catch (e) {
    s = toStrictJson(text);
    if (s === text) throw e;
  }
  return JSON.parse(s, revive);
}
