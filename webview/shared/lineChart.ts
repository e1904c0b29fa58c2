// chart.js line charts of a LineChartSpec for the knockout panel (its curves, the feature-group overlay, the
// comparison view): each series' line with its CI band, diff% on y with the zero line drawn solid, tooltips that skip
// the bands, and the series hidden with the legend toggles.
import { Chart, type ChartDataset, type ChartOptions, type TooltipItem } from 'chart.js';
import { withAlpha, type Theme } from './colors';
import { formatPct, type LineChartSpec } from './figures';

export interface LineChartLook {
  theme: Theme;
  /** opacity of a CI band's fill */
  bandAlpha: number;
  interaction: ChartOptions<'line'>['interaction'];
  x: { min: number; max: number; ticks: { stepSize: number; precision?: number }; title: string };
  y: { title: string; min?: number };
  /** the tooltip's title for the points under the pointer */
  tooltipTitle: (items: TooltipItem<'line'>[]) => string;
  /** what the tooltip adds after the value of point `index` of series `key` */
  tooltipExtra: (key: string, index: number) => string;
  /** series keys hidden now */
  hidden: readonly string[];
}

/** the series key of each dataset of a chart (a band is two datasets of its series) */
const owners = new WeakMap<Chart, string[]>();

/**
 * The datasets of a spec, with the series key of each: per series its CI band (two borderless datasets, the upper
 * filled down to the lower) then its line; a series with its own x is drawn at it.
 */
export function lineDatasets(spec: LineChartSpec, bandAlpha: number): { datasets: ChartDataset<'line'>[]; owner: string[] } {
  const datasets: ChartDataset<'line'>[] = [];
  const owner: string[] = [];
  for (const s of spec.series) {
    const x = s.x ?? spec.x;
    const pts = (ys: number[]) => x.map((xv, i) => ({ x: xv, y: ys[i] }));
    if (s.band) {
      datasets.push({ label: `${s.label} CI low`, data: pts(s.band.low), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, borderColor: 'transparent' });
      owner.push(s.key);
      datasets.push({ label: `${s.label} CI high`, data: pts(s.band.high), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: '-1', backgroundColor: withAlpha(s.color, bandAlpha), borderColor: 'transparent' });
      owner.push(s.key);
    }
    datasets.push({ label: s.label, data: pts(s.y), borderColor: s.color, backgroundColor: s.color, borderDash: s.dash, borderWidth: 2, pointRadius: x.length > 40 ? 0 : 2.5, pointHoverRadius: 5, tension: 0, fill: false });
    owner.push(s.key);
  }
  return { datasets, owner };
}

/** Draws `spec` on `canvas`, the series in `look.hidden` hidden. */
export function createLineChart(canvas: HTMLCanvasElement, spec: LineChartSpec, look: LineChartLook): Chart {
  const { theme } = look;
  const { datasets, owner } = lineDatasets(spec, look.bandAlpha);
  const c = new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: look.interaction,
      color: theme.foreground,
      font: { family: theme.fontFamily },
      scales: {
        x: {
          type: 'linear',
          min: look.x.min,
          max: look.x.max,
          ticks: { ...look.x.ticks, color: theme.muted },
          grid: { color: withAlpha(theme.grid, 0.65) },
          border: { color: theme.muted },
          title: { display: true, text: look.x.title, color: theme.foreground, font: { size: 12 } },
        },
        y: {
          type: 'linear',
          grace: '5%',
          ...(look.y.min !== undefined ? { min: look.y.min } : {}),
          ticks: { color: theme.muted },
          grid: {
            color: (ctx) => (ctx.tick && ctx.tick.value === 0 ? theme.foreground : withAlpha(theme.grid, 0.65)),
            lineWidth: (ctx) => (ctx.tick && ctx.tick.value === 0 ? 1.5 : 1),
          },
          border: { color: theme.muted },
          title: { display: true, text: look.y.title, color: theme.foreground, font: { size: 12 } },
        },
      },
      plugins: {
        tooltip: {
          filter: (item) => !String(item.dataset.label).includes(' CI '),
          callbacks: {
            title: look.tooltipTitle,
            label: (item) => ` ${item.dataset.label}: ${formatPct(item.parsed.y ?? NaN, 2)}${look.tooltipExtra(owner[item.datasetIndex], item.dataIndex)}`,
          },
        },
      },
    },
  });
  owners.set(c, owner);
  applyHidden(c, look.hidden);
  return c;
}

/** Shows the datasets of every series but those in `hidden` (a series' band goes with its line). */
export function applyHidden(c: Chart, hidden: readonly string[]): void {
  (owners.get(c) ?? []).forEach((k, i) => c.setDatasetVisibility(i, !hidden.includes(k)));
  c.update('none');
}
