// config.json files written by Python's json module (transformers < 5 among them) may hold the bare literals
// Infinity, -Infinity and NaN, which strict JSON does not allow; transformers ≥ 5 writes {"__float__": "Infinity"}.
// parsePythonJson accepts both spellings and returns plain numbers (NaN included).

/** Rewrites bare Infinity / -Infinity / NaN outside strings into forms JSON.parse accepts (1e999 parses to Infinity;
 * NaN becomes transformers 5's {"__float__": "NaN"}, so that it stays NaN and is not taken for an absent value). */
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
      out += '{"__float__":"NaN"}';
      i += 3;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** The number a transformers 5 {"__float__": …} object stands for, or the value itself. */
function revive(v: unknown): unknown {
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

/**
 * Applies `revive` to every value of a parsed document, iteratively: JSON.parse's own reviver recurses and overflows
 * the call stack on deeply nested (but valid) JSON.
 */
function reviveAll(root: unknown): unknown {
  const top = revive(root);
  const stack: unknown[] = [top];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    const obj = v as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const x = obj[k];
      const y = revive(x);
      // defineProperty: a key "__proto__" (an own property after JSON.parse) must stay an own property
      if (y !== x) Object.defineProperty(obj, k, { value: y, writable: true, enumerable: true, configurable: true });
      if (typeof y === 'object' && y !== null) stack.push(y);
    }
  }
  return top;
}

/** JSON.parse that also accepts Python's Infinity/NaN literals and transformers 5's {"__float__": …} objects. */
export function parsePythonJson(text: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const s = toStrictJson(text);
    if (s === text) throw e;
    v = JSON.parse(s);
  }
  return reviveAll(v);
}
