// Colour helpers and theme palettes. PURE: no DOM; used by the webviews, the SVG generator and the report.
import type { TokenRole } from '../../src/engine/experiments/resultTypes';

export interface Theme {
  /** 'light' | 'dark' | 'high-contrast' (only a hint) */
  kind: string;
  background: string;
  foreground: string;
  /** secondary text (axis ticks, captions) */
  muted: string;
  /** grid lines and borders */
  grid: string;
  red: string;
  blue: string;
  green: string;
  orange: string;
  purple: string;
  yellow: string;
  /** outline of focused / highlighted elements */
  focus: string;
  fontFamily: string;
}

/** VS Code "Light Modern" colours (used by the standalone report and as a fallback). */
export const LIGHT_THEME: Theme = {
  kind: 'light',
  background: '#ffffff',
  foreground: '#3b3b3b',
  muted: '#717171',
  grid: '#e5e5e5',
  red: '#e51400',
  blue: '#1a85ff',
  green: '#388a34',
  orange: '#d18616',
  purple: '#652d90',
  yellow: '#bf8803',
  focus: '#005fb8',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Ubuntu, "Droid Sans", sans-serif',
};

/** VS Code "Dark Modern" colours. */
export const DARK_THEME: Theme = {
  kind: 'dark',
  background: '#1f1f1f',
  foreground: '#cccccc',
  muted: '#9d9d9d',
  grid: '#3c3c3c',
  red: '#f14c4c',
  blue: '#3794ff',
  green: '#89d185',
  orange: '#d18616',
  purple: '#b180d7',
  yellow: '#cca700',
  focus: '#0078d4',
  fontFamily: LIGHT_THEME.fontFamily,
};

export type RGB = [number, number, number];

/** Parses #rgb, #rrggbb, #rrggbbaa, rgb(), rgba(). Unknown → undefined. */
export function parseColor(c: string): RGB | undefined {
  const s = c.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,8})$/.exec(s);
  if (m) {
    const h = m[1];
    if (h.length === 3 || h.length === 4) return [0, 1, 2].map((i) => parseInt(h[i] + h[i], 16)) as RGB;
    if (h.length === 6 || h.length === 8) return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as RGB;
    return undefined;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])].map((v) => Math.round(Math.min(255, Math.max(0, v)))) as RGB;
  return undefined;
}

export function rgbToHex([r, g, b]: RGB): string {
  return '#' + [r, g, b].map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('');
}

export function mix(a: string, b: string, t: number): string {
  const ca = parseColor(a) ?? [0, 0, 0];
  const cb = parseColor(b) ?? [0, 0, 0];
  return rgbToHex([0, 1, 2].map((i) => ca[i] + (cb[i] - ca[i]) * t) as RGB);
}

export function withAlpha(c: string, alpha: number): string {
  const rgb = parseColor(c) ?? [128, 128, 128];
  return `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
}

/** Relative luminance (0 dark … 1 light). */
export function luminance(c: string): number {
  const rgb = parseColor(c) ?? [0, 0, 0];
  const [r, g, b] = rgb.map((v) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function isDark(theme: Theme): boolean {
  return luminance(theme.background) < 0.3;
}

// ------------------------------------------------------------------ colour scales

export type ScaleKind = 'diverging' | 'sequential';

export interface ColorScale {
  kind: ScaleKind;
  min: number;
  max: number;
  /** diverging: [negative end, middle, positive end]; sequential: [low, high] */
  stops: string[];
  /** a label for the legend bar */
  label: string;
}

/** Diverging scale symmetric about 0: negative = red (probability drop), positive = blue. */
export function divergingScale(theme: Theme, maxAbs: number, label: string): ColorScale {
  const m = maxAbs > 0 && Number.isFinite(maxAbs) ? maxAbs : 1;
  return { kind: 'diverging', min: -m, max: m, stops: [theme.red, theme.background, theme.blue], label };
}

export function sequentialScale(theme: Theme, min: number, max: number, label: string): ColorScale {
  const lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : 1;
  if (hi <= lo) hi = lo + 1;
  return { kind: 'sequential', min: lo, max: hi, stops: [theme.background, theme.blue], label };
}

/** Position of v in the scale, 0…1 (clamped). */
export function scalePosition(s: ColorScale, v: number): number {
  if (!Number.isFinite(v)) return 0.5;
  const t = (v - s.min) / (s.max - s.min);
  return Math.min(1, Math.max(0, t));
}

export function scaleColor(s: ColorScale, v: number): string {
  const t = scalePosition(s, v);
  if (s.kind === 'diverging') {
    return t < 0.5 ? mix(s.stops[0], s.stops[1], t / 0.5) : mix(s.stops[1], s.stops[2], (t - 0.5) / 0.5);
  }
  return mix(s.stops[0], s.stops[1], t);
}

/** RGB triple of a scale colour (for canvas ImageData). */
export function scaleRgb(s: ColorScale, v: number): RGB {
  return parseColor(scaleColor(s, v)) ?? [0, 0, 0];
}

/** Text colour readable on a background. */
export function textOn(bg: string, theme: Theme): string {
  return luminance(bg) > 0.35 ? (isDark(theme) ? theme.background : theme.foreground) : isDark(theme) ? theme.foreground : theme.background;
}

// ------------------------------------------------------------------ series and roles

export interface SeriesStyle {
  label: string;
  color: string;
  /** SVG / canvas dash pattern; undefined = solid */
  dash?: number[];
}

/** Paper conventions: subject solid green, relation dashed purple, last dotted orange. */
export function seriesStyle(name: string, theme: Theme, index = 0): SeriesStyle {
  switch (name) {
    case 'subject':
      return { label: 'Subject', color: theme.green };
    case 'relation':
      return { label: 'Relation', color: theme.purple, dash: [6, 4] };
    case 'last':
      return { label: 'Last', color: theme.orange, dash: [2, 3] };
    case 'first':
      return { label: 'First token', color: theme.blue, dash: [8, 3, 2, 3] };
    case 'all':
      return { label: 'All', color: theme.red };
    default: {
      const cycle = [theme.yellow, theme.blue, theme.red, theme.foreground];
      return { label: name.startsWith('custom:') ? name.slice(7) : name, color: cycle[index % cycle.length], dash: [4, 2] };
    }
  }
}

export function roleColor(role: TokenRole, theme: Theme): string {
  return role === 'subject' ? theme.green : role === 'relation' ? theme.purple : theme.orange;
}

export const ROLE_LABEL: Record<TokenRole, string> = { subject: 'Subject', relation: 'Relation', last: 'Last' };
