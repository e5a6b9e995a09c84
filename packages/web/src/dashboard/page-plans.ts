/**
 * Plans (seed 003): the current plan and what is left of its allowance this period; upgrades apply
 * now (prorated), downgrades at the end of the period; start a plan; cancel at the period end.
 */
import { errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import type { BillingCatalog, DashboardContext, Notice, Subscription } from './context.ts';
import { formatCredits, formatDate, formatUsd, h, humanize, mount } from './dom.ts';
import { noticeElement } from './page-credits.ts';

type Plan = BillingCatalog['plans'][number];

export function renderPlansPage(main: HTMLElement, context: DashboardContext): void {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading plans…'));
  mount(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Plans'),
      h(
        'p',
        { class: 'muted' },
        'A plan gives you a monthly allowance, spent before your credits. Credits you buy stay yours either way.',
      ),
    ),
    body,
  );
  void load(context.takeNotice('plans'));

  async function load(notice: Notice | null) {
    let catalog: BillingCatalog;
    try {
      catalog = await context.api.get<BillingCatalog>('/v1/billing/catalog');
    } catch (error) {
      mount(body, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
      return;
    }
    const current = catalog.subscription;
    const currentPlan = current ? catalog.plans.find((plan) => plan.code === current.plan) : undefined;
    const path = `/v1/customers/${encodeURIComponent(context.customerId)}/subscription`;
    const act = async (work: () => Promise<Notice>) => {
      let result: Notice;
      try {
        result = await work();
      } catch (error) {
        result = { kind: 'error', title: 'That did not work', text: errorMessage(error) };
      }
      await load(result);
      await context.refreshBalance();
      (body.querySelector('.notice') as HTMLElement | null)?.focus();
    };

    const planButton = (plan: Plan) => {
      if (!current) {
        return h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: async () => {
              const confirmed = await confirmDialog({
                title: `Start the ${plan.name} plan?`,
                message: `${formatUsd(plan.price_usd)} per ${plan.interval} for ${formatCredits(plan.allowance)} credits of allowance each period.`,
                confirmLabel: 'Start plan',
              });
              if (!confirmed) return;
              await act(async () => {
                const back = `${location.origin}/dashboard/`;
                const result = await context.api.post(
                  path,
                  {
                    plan: plan.code,
                    success_url: `${back}?subscription=success#/plans`,
                    cancel_url: `${back}?subscription=cancelled#/plans`,
                  },
                  { idempotent: true },
                );
                if (result.checkout?.url) {
                  location.assign(result.checkout.url);
                  return { kind: 'info', title: 'Opening checkout…' };
                }
                return {
                  kind: 'success',
                  title: `You're on the ${plan.name} plan`,
                  text: `${formatCredits(plan.allowance)} credits of allowance are ready to use.`,
                };
              });
            },
          },
          `Start ${plan.name}`,
        );
      }
      if (plan.code === current.plan) {
        return h('button', { type: 'button', class: 'secondary', disabled: true }, 'Current plan');
      }
      // A cancelled plan changes nothing any more: resume it first (the card above offers that).
      if (current.cancel_at_period_end) return null;
      if (plan.code === current.pending_plan) {
        return h(
          'p',
          { class: 'muted', 'data-testid': 'pending-plan-note' },
          `Starts on ${formatDate(current.current_period_end, false)}`,
        );
      }
      const upgrade = isUpgrade(currentPlan, plan);
      const periodEnd = formatDate(current.current_period_end, false);
      return h(
        'button',
        {
          type: 'button',
          class: upgrade ? 'primary' : 'secondary',
          onclick: async () => {
            const confirmed = await confirmDialog(
              upgrade
                ? {
                    title: `Upgrade to ${plan.name} now?`,
                    message: `The upgrade applies right away. You pay only the difference for the rest of this period, and your allowance grows for the rest of the period.`,
                    confirmLabel: 'Upgrade now',
                  }
                : {
                    title: `Switch to ${plan.name} at the end of this period?`,
                    message: `You keep ${current.plan_name} and its allowance until ${periodEnd}; ${plan.name} starts after that. Downgrades are not prorated.`,
                    confirmLabel: 'Downgrade at period end',
                  },
            );
            if (!confirmed) return;
            await act(async () => {
              const back = `${location.origin}/dashboard/`;
              const result = await context.api.patch(path, {
                plan: plan.code,
                ...(upgrade
                  ? {
                      success_url: `${back}?subscription=upgraded#/plans`,
                      cancel_url: `${back}?subscription=cancelled#/plans`,
                    }
                  : {}),
              });
              // In test mode the prorated charge is paid on the test checkout page first.
              if (result.checkout?.url) {
                location.assign(result.checkout.url);
                return { kind: 'info', title: 'Opening checkout…' };
              }
              if (result.change === 'upgrade') {
                return {
                  kind: 'success',
                  title: `Upgraded to ${plan.name}`,
                  text: `${formatCredits(result.prorated_allowance ?? 0)} credits of allowance were added for the rest of this period${
                    typeof result.prorated_charge_usd === 'number'
                      ? ` (prorated charge ${formatUsd(result.prorated_charge_usd)})`
                      : ''
                  }.`,
                };
              }
              return {
                kind: 'success',
                title: `Your plan changes to ${plan.name} on ${formatDate(result.effective_at, false)}`,
              };
            });
          },
        },
        upgrade ? `Upgrade to ${plan.name}` : `Downgrade to ${plan.name}`,
      );
    };

    const resume = async () =>
      act(async () => {
        await context.api.post(`${path}/resume`);
        return { kind: 'success', title: `Your ${current?.plan_name} plan will renew` };
      });
    const keepCurrent = async () =>
      act(async () => {
        await context.api.patch(path, { plan: current?.plan });
        return { kind: 'success', title: `You stay on ${current?.plan_name}` };
      });
    const charges = context.api
      .get<{ data: PlanCharge[] }>(`${path}/charges`)
      .then((result) => result.data)
      .catch(() => []);
    mount(
      body,
      noticeElement(notice),
      currentCard(current, catalog.plans, { resume, keepCurrent }, async () => {
        const confirmed = await confirmDialog({
          title: 'Cancel your plan?',
          message: `Your plan stays active until ${formatDate(current?.current_period_end, false)} and then ends. Credits you bought are kept.`,
          confirmLabel: 'Cancel plan',
          cancelLabel: 'Keep plan',
          destructive: true,
        });
        if (!confirmed) return;
        await act(async () => {
          const result = await context.api.delete(path);
          return {
            kind: 'success',
            title: `Your plan ends on ${formatDate(result.subscription?.current_period_end, false)}`,
          };
        });
      }),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'plans-heading' },
        h('h2', { id: 'plans-heading' }, current ? 'Change plan' : 'Choose a plan'),
        h(
          'ul',
          { class: 'plans', style: 'list-style:none;padding:0;margin:0' },
          catalog.plans.map((plan) =>
            h(
              'li',
              { class: `plan${plan.code === current?.plan ? ' current' : ''}`, 'data-plan': plan.code },
              h('h3', null, plan.name),
              h(
                'div',
                { class: 'price' },
                `${formatUsd(plan.price_usd)}`,
                h('span', { class: 'muted', style: 'font-size:14px;font-weight:400' }, ` / ${plan.interval}`),
              ),
              h(
                'p',
                { class: 'muted' },
                `${formatCredits(plan.allowance)} credits of allowance each ${plan.interval}`,
              ),
              featureList(plan),
              planButton(plan),
            ),
          ),
        ),
      ),
      chargesCard(await charges),
    );
  }
}

/** What the plan unlocks (entitlements), one line per feature; nothing when it declares none. */
function featureList(plan: Plan): HTMLElement | null {
  const features = Object.entries(plan.features ?? {});
  if (features.length === 0) return null;
  return h(
    'ul',
    { class: 'features', 'aria-label': `${plan.name} features` },
    features.map(([name, value]) =>
      h(
        'li',
        { 'data-feature': name },
        value === true
          ? `✓ ${name}`
          : value === false
            ? `✗ ${name}`
            : typeof value === 'number'
              ? `${name}: up to ${value}`
              : `${name}: ${value.monthly} per ${plan.interval}`,
      ),
    ),
  );
}

interface PlanCharge {
  id: string;
  kind: 'start' | 'upgrade' | 'renewal';
  plan_name: string;
  amount_usd: number;
  allowance: number;
  status: string;
  created_at: string;
  paid_at: string | null;
}

/** Every plan payment, so that a prorated upgrade charge is on record where the plan is. */
function chargesCard(charges: PlanCharge[]): HTMLElement | null {
  if (charges.length === 0) return null;
  const what = (charge: PlanCharge) =>
    charge.kind === 'start'
      ? `${charge.plan_name} plan, first period`
      : charge.kind === 'upgrade'
        ? `Upgrade to ${charge.plan_name} (prorated)`
        : `${charge.plan_name} plan renewal`;
  return h(
    'section',
    { class: 'card table-wrap', 'aria-labelledby': 'plan-payments-heading' },
    h('h2', { id: 'plan-payments-heading' }, 'Plan payments'),
    h(
      'table',
      { class: 'responsive', 'data-testid': 'plan-payments' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, 'Date'),
          h('th', { scope: 'col' }, 'What'),
          h('th', { scope: 'col', class: 'num' }, 'Allowance'),
          h('th', { scope: 'col', class: 'num' }, 'Amount'),
          h('th', { scope: 'col' }, 'Status'),
        ),
      ),
      h(
        'tbody',
        null,
        charges.map((charge) =>
          h(
            'tr',
            { 'data-kind': charge.kind },
            h('td', { 'data-label': 'Date' }, formatDate(charge.paid_at ?? charge.created_at)),
            h('td', { 'data-label': 'What' }, what(charge)),
            h('td', { 'data-label': 'Allowance', class: 'num' }, `+${formatCredits(charge.allowance)}`),
            h('td', { 'data-label': 'Amount', class: 'num' }, formatUsd(charge.amount_usd)),
            h(
              'td',
              { 'data-label': 'Status' },
              h(
                'span',
                { class: 'tag' },
                charge.status === 'pending' ? 'Awaiting payment' : humanize(charge.status),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function isUpgrade(current: Plan | undefined, next: Plan): boolean {
  if (!current) return true;
  return next.allowance > current.allowance || next.price_usd > current.price_usd;
}

function currentCard(
  subscription: Subscription | null,
  plans: Plan[],
  actions: { resume: () => void; keepCurrent: () => void },
  onCancel: () => void,
): HTMLElement {
  if (!subscription) {
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'current-heading' },
      h('h2', { id: 'current-heading' }, 'Current plan'),
      h('p', { 'data-testid': 'no-plan' }, "You're not on a plan. You pay as you go with credits."),
    );
  }
  const allowance = subscription.allowance ?? 0;
  const left = subscription.allowance_remaining;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'current-heading' },
    h('h2', { id: 'current-heading' }, 'Current plan'),
    h(
      'p',
      { class: 'big', style: 'font-size:28px', 'data-testid': 'current-plan' },
      subscription.plan_name,
      subscription.price_usd !== null
        ? h(
            'span',
            { class: 'muted', style: 'font-size:16px;font-weight:400' },
            ` · ${formatUsd(subscription.price_usd)} / month`,
          )
        : null,
    ),
    // Not "x of y": after a prorated upgrade what is left is not a share of the plan's allowance.
    h(
      'p',
      { id: 'allowance-label' },
      `Allowance left this period: `,
      h('strong', { 'data-testid': 'allowance-left' }, `${formatCredits(left)} credits`),
    ),
    h('progress', { max: Math.max(allowance, left, 1), value: left, 'aria-labelledby': 'allowance-label' }),
    h(
      'p',
      { class: 'muted', style: 'margin-top:8px' },
      `${subscription.plan_name} includes ${formatCredits(allowance)} credits each month; an upgrade adds the prorated difference for the rest of the period.`,
    ),
    h(
      'p',
      { 'data-testid': 'plan-status' },
      subscription.cancel_at_period_end
        ? `Cancelled: ends on ${formatDate(subscription.current_period_end, false)} and does not renew.`
        : subscription.pending_plan
          ? `Changes to ${plans.find((plan) => plan.code === subscription.pending_plan)?.name ?? subscription.pending_plan} on ${formatDate(subscription.current_period_end, false)}.`
          : `Renews on ${formatDate(subscription.current_period_end, false)}.`,
    ),
    h(
      'div',
      { class: 'row' },
      subscription.cancel_at_period_end
        ? h('button', { type: 'button', class: 'primary', onclick: actions.resume }, 'Resume plan')
        : [
            subscription.pending_plan
              ? h(
                  'button',
                  { type: 'button', class: 'secondary', onclick: actions.keepCurrent },
                  `Keep ${subscription.plan_name}`,
                )
              : null,
            h('button', { type: 'button', class: 'danger', onclick: onCancel }, 'Cancel plan'),
          ],
    ),
  );
}
