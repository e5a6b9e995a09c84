/**
 * Charts as inline SVG, no library: a stacked bar chart (credits per day by model type) and a line
 * chart (the partner's revenue and referral earnings). Each is an image with a title and description
 * for screen readers, per-bar/point <title> tooltips, and comes with a data table to expand.
 */
import { h, svg, uid } from './dom.ts';

export interface Series {
  key: string;
  label: string;
  color: string;
}

export interface ChartPoint {
  /** The x label (a day, `YYYY-MM-DD`). */
  label: string;
  values: Record<string, number>;
}

export interface ChartOptions {
  title: string;
  description: string;
  series: Series[];
  data: ChartPoint[];
  format(value: number): string;
}

const MARGIN = { top: 12, right: 12, bottom: 28, left: 52 };

/** Drawn at about the size it is shown, so the axis text stays legible on a phone. */
function chartSize(): { WIDTH: number; HEIGHT: number } {
  const narrow = typeof matchMedia === 'function' && matchMedia('(max-width: 600px)').matches;
  return narrow ? { WIDTH: 360, HEIGHT: 220 } : { WIDTH: 720, HEIGHT: 260 };
}

/** 0, a round step, … covering max: [0, 5, 10, 15] for 13. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10]
    .map((factor) => factor * magnitude)
    .find((candidate) => candidate >= rough)!;
  const ticks: number[] = [];
  for (let value = 0; value < max + step * 0.999; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

function shortDay(label: string): string {
  const date = new Date(`${label}T00:00:00Z`);
  return Number.isNaN(date.getTime())
    ? label
    : date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

function frame(options: ChartOptions, max: number) {
  const { WIDTH, HEIGHT } = chartSize();
  const titleId = uid('chart-title');
  const descriptionId = uid('chart-desc');
  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-labelledby': `${titleId} ${descriptionId}`,
    class: 'chart',
  });
  root.append(
    svg('title', { id: titleId }, options.title),
    svg('desc', { id: descriptionId }, options.description),
  );
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const axis = svg('g', { 'aria-hidden': 'true', class: 'axis' });
  for (const tick of ticks) {
    axis.append(
      svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick), class: 'grid' }),
      svg('text', { x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, options.format(tick)),
    );
  }
  const step = plotWidth / Math.max(options.data.length, 1);
  const labelEvery = Math.max(1, Math.ceil(options.data.length / (WIDTH < 500 ? 4 : 6)));
  options.data.forEach((point, index) => {
    if (index % labelEvery !== 0 && index !== options.data.length - 1) return;
    axis.append(
      svg(
        'text',
        { x: MARGIN.left + step * index + step / 2, y: HEIGHT - 8, 'text-anchor': 'middle' },
        shortDay(point.label),
      ),
    );
  });
  root.append(axis);
  return { root, y, step, plotHeight };
}

export function stackedBarChart(options: ChartOptions): HTMLElement {
  return figure(options, () => drawStackedBars(options));
}

export function lineChart(options: ChartOptions): HTMLElement {
  return figure(options, () => drawLines(options));
}

function drawStackedBars(options: ChartOptions): SVGElement {
  const totals = options.data.map((point) =>
    options.series.reduce((sum, series) => sum + (point.values[series.key] ?? 0), 0),
  );
  const { root, y, step } = frame(options, Math.max(...totals, 0));
  const barWidth = Math.max(2, step * 0.7);
  const bars = svg('g', { class: 'bars' });
  options.data.forEach((point, index) => {
    let base = 0;
    const x = MARGIN.left + step * index + (step - barWidth) / 2;
    for (const series of options.series) {
      const value = point.values[series.key] ?? 0;
      if (value <= 0) continue;
      bars.append(
        svg(
          'rect',
          {
            x,
            y: y(base + value),
            width: barWidth,
            height: Math.max(0.5, y(base) - y(base + value)),
            fill: series.color,
          },
          svg('title', null, `${shortDay(point.label)} · ${series.label}: ${options.format(value)}`),
        ),
      );
      base += value;
    }
  });
  root.append(bars);
  return root;
}

function drawLines(options: ChartOptions): SVGElement {
  const max = Math.max(
    0,
    ...options.data.flatMap((point) => options.series.map((series) => point.values[series.key] ?? 0)),
  );
  const { root, y, step } = frame(options, max);
  for (const series of options.series) {
    const points = options.data.map(
      (point, index) => [MARGIN.left + step * index + step / 2, y(point.values[series.key] ?? 0)] as const,
    );
    root.append(
      svg('polyline', {
        points: points.map(([x, pointY]) => `${x.toFixed(1)},${pointY.toFixed(1)}`).join(' '),
        fill: 'none',
        stroke: series.color,
        'stroke-width': 2.5,
        'stroke-linejoin': 'round',
        'vector-effect': 'non-scaling-stroke',
      }),
    );
    const dots = svg('g', null);
    options.data.forEach((point, index) => {
      const value = point.values[series.key] ?? 0;
      if (value <= 0) return;
      const [x, pointY] = points[index]!;
      dots.append(
        svg(
          'circle',
          { cx: x, cy: pointY, r: 3.5, fill: series.color },
          svg('title', null, `${shortDay(point.label)} · ${series.label}: ${options.format(value)}`),
        ),
      );
    });
    root.append(dots);
  }
  return root;
}

/** The chart with its legend and the same numbers as a table (for screen readers and copying). */
function figure(options: ChartOptions, draw: () => SVGElement): HTMLElement {
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    options.series.map((series) =>
      h(
        'li',
        null,
        h('span', { class: 'swatch', style: `background:${series.color}`, 'aria-hidden': 'true' }),
        series.label,
      ),
    ),
  );
  const rows = options.data.filter((point) =>
    options.series.some((series) => (point.values[series.key] ?? 0) !== 0),
  );
  const table = h(
    'details',
    { class: 'chart-data' },
    h('summary', null, 'Show the numbers'),
    rows.length === 0
      ? h('p', null, 'Nothing in this period.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            null,
            h('caption', { class: 'sr-only' }, options.title),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, 'Day'),
                options.series.map((series) => h('th', { scope: 'col', class: 'num' }, series.label)),
              ),
            ),
            h(
              'tbody',
              null,
              rows.map((point) =>
                h(
                  'tr',
                  null,
                  h('th', { scope: 'row', 'data-label': 'Day' }, shortDay(point.label)),
                  options.series.map((series) =>
                    h(
                      'td',
                      { class: 'num', 'data-label': series.label },
                      options.format(point.values[series.key] ?? 0),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
  );
  const box = h('div', { class: 'chart-box' }, draw());
  // Redrawn for the other size when the screen crosses the phone breakpoint (rotation, resizing).
  if (typeof matchMedia === 'function') {
    const query = matchMedia('(max-width: 600px)');
    const redraw = () => {
      if (box.isConnected) box.replaceChildren(draw());
      else query.removeEventListener('change', redraw);
    };
    query.addEventListener('change', redraw);
  }
  return h('figure', { class: 'chart-figure' }, box, legend, table);
}

export const TYPE_COLORS: Record<string, string> = {
  image: '#6366f1',
  video: '#0284c7',
  audio: '#d97706',
  language: '#059669',
  operation: '#be185d',
};
