/** Usage: credits spent per day by model type (inline SVG chart) and the models that used them. */
import { errorMessage } from './api.ts';
import { stackedBarChart, TYPE_COLORS } from './charts.ts';
import type { DashboardContext } from './context.ts';
import { formatCredits, h, humanize, mount, uid } from './dom.ts';

interface UsageReport {
  days: number;
  from: string;
  to: string;
  types: string[];
  total: number;
  totals_by_type: Record<string, number>;
  data: { date: string; total: number; by_type: Record<string, number> }[];
  by_model: { model: string; type: string; amount: number; count: number }[];
}

export function renderUsagePage(main: HTMLElement, context: DashboardContext): void {
  const periodId = uid('period');
  const body = h('div', null);
  const period = h(
    'select',
    { id: periodId, onchange: () => void load() },
    [7, 30, 90].map((days) => h('option', { value: days, selected: days === 30 }, `Last ${days} days`)),
  );
  mount(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Usage'),
      h(
        'p',
        { class: 'muted' },
        'Credits spent per day, by model type. Generations on your own API keys use no credits and are not shown.',
      ),
    ),
    h('div', { class: 'field', style: 'max-width:220px' }, h('label', { for: periodId }, 'Period'), period),
    body,
  );

  async function load() {
    mount(body, h('p', { class: 'muted' }, 'Loading usage…'));
    let report: UsageReport;
    try {
      report = await context.api.get(
        `/v1/customers/${encodeURIComponent(context.customerId)}/usage/daily?days=${period.value}`,
      );
    } catch (error) {
      mount(body, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
      return;
    }
    const names = new Map((await context.models().catch(() => [])).map((model) => [model.id, model.name]));
    const series = (report.types.length ? report.types : ['image']).map((type) => ({
      key: type,
      label: humanize(type),
      color: TYPE_COLORS[type] ?? '#64748b',
    }));
    mount(
      body,
      h(
        'div',
        { class: 'stats' },
        h(
          'div',
          { class: 'stat' },
          h('div', { class: 'label' }, 'Spent'),
          h('div', { class: 'value', 'data-testid': 'usage-total' }, formatCredits(report.total)),
          h('div', { class: 'label' }, 'credits'),
        ),
        report.types.map((type) =>
          h(
            'div',
            { class: 'stat' },
            h('div', { class: 'label' }, humanize(type)),
            h('div', { class: 'value' }, formatCredits(report.totals_by_type[type] ?? 0)),
          ),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'usage-chart-heading' },
        h('h2', { id: 'usage-chart-heading' }, 'Credits per day'),
        stackedBarChart({
          title: `Credits spent per day, ${report.from} to ${report.to}`,
          description:
            report.total > 0
              ? `${formatCredits(report.total)} credits in total: ${report.types.map((type) => `${humanize(type)} ${formatCredits(report.totals_by_type[type] ?? 0)}`).join(', ')}.`
              : 'No credits were spent in this period.',
          series,
          data: report.data.map((day) => ({ label: day.date, values: day.by_type })),
          format: formatCredits,
        }),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'usage-models-heading' },
        h('h2', { id: 'usage-models-heading' }, 'By model'),
        report.by_model.length === 0
          ? h('p', { class: 'muted' }, 'Nothing yet in this period.')
          : h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'responsive' },
                h(
                  'thead',
                  null,
                  h(
                    'tr',
                    null,
                    h('th', { scope: 'col' }, 'Model'),
                    h('th', { scope: 'col' }, 'Type'),
                    h('th', { scope: 'col', class: 'num' }, 'Generations'),
                    h('th', { scope: 'col', class: 'num' }, 'Credits'),
                  ),
                ),
                h(
                  'tbody',
                  null,
                  report.by_model.map((row) =>
                    h(
                      'tr',
                      null,
                      h('td', { 'data-label': 'Model' }, names.get(row.model) ?? row.model),
                      h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(row.type))),
                      h('td', { 'data-label': 'Generations', class: 'num' }, String(row.count)),
                      h('td', { 'data-label': 'Credits', class: 'num' }, formatCredits(row.amount)),
                    ),
                  ),
                ),
              ),
            ),
      ),
    );
  }
  void load();
}
