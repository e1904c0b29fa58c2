// Canvas heatmap (crisp at devicePixelRatio) with labels, a legend bar, outlined cells, hover and
// keyboard tooltips. Used by the knockout panel (micro) and the heatmap viewer (attention).
import { mix, roleColor, scaleColor, type Theme } from './colors';
import type { HeatmapSpec } from './figures';
import { niceTicks, summarizeHeatmap } from './svg';

export interface HeatmapHit {
  row: number;
  col: number;
  value: number;
}

export interface HeatmapViewOptions {
  label: string;
  /** tooltip text of a cell */
  describe: (hit: HeatmapHit, spec: HeatmapSpec) => string;
  maxCell?: number;
}

export class HeatmapView {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly tooltip: HTMLElement;
  private spec?: HeatmapSpec;
  private theme?: Theme;
  private layout = { ml: 0, mt: 0, cell: 10, rows: 0, cols: 0, W: 0, H: 0 };
  private cursor?: { row: number; col: number };
  private avail = 600;

  constructor(private readonly opts: HeatmapViewOptions) {
    this.root = document.createElement('div');
    this.root.className = 'heatmap-view';
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', opts.label);
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.setAttribute('role', 'status');
    this.tooltip.hidden = true;
    this.root.append(this.canvas, this.tooltip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => this.hide());
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.canvas.addEventListener('blur', () => this.hide());
  }

  get current(): HeatmapSpec | undefined {
    return this.spec;
  }

  render(spec: HeatmapSpec, theme: Theme, availableWidth: number): void {
    this.spec = spec;
    this.theme = theme;
    this.avail = availableWidth;
    const rows = spec.values.length;
    const cols = spec.values[0]?.length ?? 0;
    const ctx = this.canvas.getContext('2d')!;
    const font = (px: number) => `${px}px ${theme.fontFamily}`;
    ctx.font = font(12);
    const yw = Math.max(30, ...spec.yTicks.map((t) => ctx.measureText(t).width)) + 10;
    const xw = Math.max(10, ...spec.xTicks.map((t) => ctx.measureText(t).width));
    const legendW = 96;
    const ml = Math.min(240, yw) + 24;
    // marked rows (position 0 of a micro grid): a dashed frame and a label in a column right of the plot
    const marks = (spec.markedRows ?? []).filter((m) => m.row >= 0 && m.row < rows);
    ctx.font = font(11);
    const markW = marks.length ? Math.ceil(Math.max(...marks.map((m) => ctx.measureText(`◂ ${m.label}`).width))) + 14 : 0;
    ctx.font = font(12);
    const maxCell = this.opts.maxCell ?? 36;
    const cell = Math.max(8, Math.min(maxCell, Math.floor((Math.max(200, availableWidth) - ml - legendW - markW - 12) / Math.max(1, cols))));
    const rotate = xw > cell - 2;
    const mb = (rotate ? Math.min(150, xw * 0.87 + 14) : 22) + 24;
    const mt = 10;
    const W = ml + cols * cell + markW + legendW;
    const H = mt + rows * cell + mb;
    this.layout = { ml, mt, cell, rows, cols, W, H };
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(W * dpr);
    this.canvas.height = Math.round(H * dpr);
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, W, H);
    // cells
    const nan = mix(theme.background, theme.grid, 0.45);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = spec.values[r][c];
        ctx.fillStyle = Number.isFinite(v) ? scaleColor(spec.scale, v) : nan;
        ctx.fillRect(ml + c * cell, mt + r * cell, cell, cell);
      }
    }
    ctx.strokeStyle = theme.muted;
    ctx.lineWidth = 1;
    ctx.strokeRect(ml - 0.5, mt - 0.5, cols * cell + 1, rows * cell + 1);
    // outlined (blocked) cells
    ctx.strokeStyle = theme.foreground;
    ctx.lineWidth = 2;
    for (const [r, c] of spec.outlined ?? []) if (r < rows && c < cols) ctx.strokeRect(ml + c * cell + 1.5, mt + r * cell + 1.5, cell - 3, cell - 3);
    for (const mk of marks) {
      const y = mt + mk.row * cell;
      ctx.save();
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(ml - 2.5, y - 1.5, cols * cell + 5, cell + 3);
      ctx.restore();
      ctx.fillStyle = theme.foreground;
      ctx.font = font(11);
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillText(`◂ ${mk.label}`, ml + cols * cell + 8, y + cell / 2);
    }
    if (this.cursor && this.cursor.row < rows && this.cursor.col < cols) {
      ctx.strokeStyle = theme.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(ml + this.cursor.col * cell + 1, mt + this.cursor.row * cell + 1, cell - 2, cell - 2);
    }
    // labels
    const fs = Math.max(9, Math.min(12, cell - 1));
    ctx.font = font(fs);
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    const yEvery = Math.max(1, Math.ceil((fs + 1) / cell));
    spec.yTicks.forEach((t, r) => {
      if (r % yEvery) return;
      ctx.fillStyle = spec.yRoles ? roleColor(spec.yRoles[r], theme) : theme.foreground;
      ctx.fillText(t, ml - 6, mt + r * cell + cell / 2);
    });
    ctx.fillStyle = theme.muted;
    ctx.font = font(Math.min(11, fs));
    const every = Math.max(1, Math.ceil((rotate ? 12 : xw + 4) / cell));
    spec.xTicks.forEach((t, c) => {
      if (c % every) return;
      const x = ml + c * cell + cell / 2;
      const y = mt + rows * cell + 6;
      if (rotate) {
        ctx.save();
        ctx.translate(x, y);
        ctx.rotate(Math.PI / 3);
        ctx.textAlign = 'left';
        ctx.fillText(t, 0, 0);
        ctx.restore();
      } else {
        ctx.textAlign = 'center';
        ctx.textBaseline = 'top';
        ctx.fillText(t, x, y);
        ctx.textBaseline = 'middle';
      }
    });
    ctx.fillStyle = theme.foreground;
    ctx.font = font(12);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(spec.xLabel, ml + (cols * cell) / 2, H - 6);
    ctx.save();
    ctx.translate(12, mt + (rows * cell) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(spec.yLabel, 0, 0);
    ctx.restore();
    // legend bar
    const lx = ml + cols * cell + markW + 18;
    const lh = Math.max(60, Math.min(220, rows * cell));
    const grad = ctx.createLinearGradient(0, mt, 0, mt + lh);
    for (let i = 0; i <= 20; i++) grad.addColorStop(i / 20, scaleColor(spec.scale, spec.scale.max - (i / 20) * (spec.scale.max - spec.scale.min)));
    ctx.fillStyle = grad;
    ctx.fillRect(lx, mt, 14, lh);
    ctx.strokeStyle = theme.muted;
    ctx.lineWidth = 1;
    ctx.strokeRect(lx + 0.5, mt + 0.5, 14, lh);
    ctx.fillStyle = theme.muted;
    ctx.font = font(10);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const v of niceTicks(spec.scale.min, spec.scale.max, 5)) {
      if (v < spec.scale.min - 1e-12 || v > spec.scale.max + 1e-12) continue;
      const y = mt + ((spec.scale.max - v) / (spec.scale.max - spec.scale.min || 1)) * lh;
      ctx.fillRect(lx + 14, y - 0.5, 4, 1);
      const s = Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
      ctx.fillText(spec.percent ? `${v > 0 ? '+' : ''}${s}%` : s, lx + 21, y);
    }
    this.canvas.setAttribute('aria-label', `${this.opts.label}. ${summarizeHeatmap(spec)} Use the arrow keys to read cell values.`);
    if (this.cursor) this.showAt(this.cursor.row, this.cursor.col);
  }

  /** Cell under a point in CSS pixels of the canvas. */
  hitTest(x: number, y: number): HeatmapHit | undefined {
    const { ml, mt, cell, rows, cols } = this.layout;
    const c = Math.floor((x - ml) / cell);
    const r = Math.floor((y - mt) / cell);
    if (!this.spec || r < 0 || c < 0 || r >= rows || c >= cols) return undefined;
    return { row: r, col: c, value: this.spec.values[r][c] };
  }

  /** Centre of a cell in CSS pixels (for tests and keyboard). */
  cellCenter(row: number, col: number): { x: number; y: number } {
    const { ml, mt, cell } = this.layout;
    return { x: ml + col * cell + cell / 2, y: mt + row * cell + cell / 2 };
  }

  private hover(e: MouseEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const hit = this.hitTest(e.clientX - rect.left, e.clientY - rect.top);
    if (!hit || !this.spec) return this.hide();
    this.showAt(hit.row, hit.col);
  }

  private showAt(row: number, col: number): void {
    if (!this.spec) return;
    const v = this.spec.values[row]?.[col];
    if (v === undefined) return this.hide();
    this.tooltip.textContent = this.opts.describe({ row, col, value: v }, this.spec);
    this.tooltip.dataset.row = String(row);
    this.tooltip.dataset.col = String(col);
    this.tooltip.dataset.value = String(v);
    this.tooltip.hidden = false;
    const p = this.cellCenter(row, col);
    const { cell } = this.layout;
    const left = Math.min(p.x + cell, this.layout.W - 180);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${p.y + cell / 2 + 4}px`;
  }

  private hide(): void {
    this.tooltip.hidden = true;
  }

  private key(e: KeyboardEvent): void {
    const { rows, cols } = this.layout;
    if (!rows || !cols) return;
    const cur = this.cursor ?? { row: rows - 1, col: 0 };
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === 'Escape') {
      this.cursor = undefined;
      this.hide();
      if (this.spec && this.theme) this.render(this.spec, this.theme, this.avail);
      return;
    }
    const mv = moves[e.key];
    if (!mv) return;
    e.preventDefault();
    e.stopPropagation();
    this.cursor = { row: Math.min(rows - 1, Math.max(0, cur.row + (this.cursor ? mv[0] : 0))), col: Math.min(cols - 1, Math.max(0, cur.col + (this.cursor ? mv[1] : 0))) };
    if (this.spec && this.theme) this.render(this.spec, this.theme, this.avail);
  }
}
