// The legend of a chart.js line chart as toggle buttons, one per series (its colour and dash, its label): a click
// hides or shows the series and its band, and the canvas' text summary follows.
import type { Chart } from 'chart.js';
import { applyHidden } from './lineChart';
import type { LineChartSpec } from './figures';
import { summarizeLineChart } from './svg';
import { el } from './vscode';

export interface SeriesToggleOptions {
  /** aria-label of the group of buttons */
  groupLabel: string;
  /** how a button's title names its series: `Hide ${name(label)}` */
  name: (label: string) => string;
  /** the series keys hidden now, and their new list after a click */
  get: () => string[];
  set: (hidden: string[]) => void;
  /** the chart drawn (undefined before it is) */
  chart: () => Chart | undefined;
  /** persists the view's state */
  save: () => void;
}

export function seriesToggles(spec: LineChartSpec, canvas: HTMLCanvasElement, o: SeriesToggleOptions): HTMLElement {
  const box = el('div', { class: 'series-toggles', role: 'group', 'aria-label': o.groupLabel });
  for (const s of spec.series) {
    const b = el('button', { type: 'button', class: 'series-toggle', 'data-series': s.key });
    const visible = !o.get().includes(s.key);
    b.setAttribute('aria-pressed', String(visible));
    b.title = `${visible ? 'Hide' : 'Show'} ${o.name(s.label)}`;
    const sw = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    sw.setAttribute('width', '28');
    sw.setAttribute('height', '10');
    sw.setAttribute('aria-hidden', 'true');
    const ln = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    for (const [k, v] of Object.entries({ x1: '1', x2: '27', y1: '5', y2: '5', stroke: s.color, 'stroke-width': '2.5' })) ln.setAttribute(k, v);
    if (s.dash) ln.setAttribute('stroke-dasharray', s.dash.join(' '));
    sw.append(ln);
    b.append(sw, el('span', { text: s.label }));
    b.addEventListener('click', () => {
      const hidden = o.get();
      const hide = !hidden.includes(s.key);
      o.set(hide ? [...hidden, s.key] : hidden.filter((k) => k !== s.key));
      b.setAttribute('aria-pressed', String(!hide));
      b.title = `${hide ? 'Show' : 'Hide'} ${o.name(s.label)}`;
      const c = o.chart();
      if (c) applyHidden(c, o.get());
      canvas.setAttribute('aria-label', summarizeLineChart(spec, o.get()));
      o.save();
    });
    box.append(b);
  }
  return box;
}
