/**
 * One line of a customer's statement in words, from the transaction as the API shows it: what the
 * credits came from or went to. Pure: the one fact that lives in another table (a purchase's
 * currency) is looked up by the service and passed in. Gift codes, plan allowances (their period) and
 * adjustments already carry their words in the grant's reason.
 */

export interface StatementRow {
  type: string;
  amount: number;
  model: string | null;
  source: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
}

export interface StatementFacts {
  /** Purchase id → the ISO currency it was paid in. */
  purchaseCurrencies: ReadonlyMap<string, string>;
}

const NO_FACTS: StatementFacts = { purchaseCurrencies: new Map() };

/** Minor units (cents) of a currency as text: "12.50 USD", "$12.50" for dollars. */
export function formatPaid(cents: bigint, currency = 'usd'): string {
  const code = currency.toUpperCase();
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  const whole = (absolute / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const text = `${whole}.${(absolute % 100n).toString().padStart(2, '0')}`;
  return `${negative ? '-' : ''}${code === 'USD' ? `$${text}` : `${text} ${code}`}`;
}

function integerText(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,18}$/.test(value)) return BigInt(value);
  return null;
}

function tokens(metadata: Record<string, unknown>): string | null {
  const input = integerText(metadata.input_tokens);
  const output = integerText(metadata.output_tokens);
  if (input === null && output === null) return null;
  const group = (value: bigint | null) => (value ?? 0n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${group(input)} tokens in, ${group(output)} out`;
}

function humanize(text: string): string {
  const spaced = text.replace(/[_-]+/g, ' ').trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function describeTransaction(row: StatementRow, facts: StatementFacts = NO_FACTS): string {
  const metadata = row.metadata;
  const purchaseId = typeof metadata.purchase_id === 'string' ? metadata.purchase_id : null;
  const currency = (purchaseId && facts.purchaseCurrencies.get(purchaseId)) || 'usd';
  switch (row.type) {
    case 'usage': {
      const used = tokens(metadata);
      return [row.model ?? 'Usage', used].filter(Boolean).join(' · ');
    }
    case 'purchase': {
      const cents = integerText(metadata.amount_cents);
      const pack = typeof metadata.pack === 'string' ? ` (pack ${metadata.pack})` : '';
      return `Credit purchase${pack}${cents === null ? '' : ` · ${formatPaid(cents, currency)} paid`}`;
    }
    case 'refund': {
      const cents = integerText(metadata.refunded_cents);
      if (purchaseId)
        return `Refund of a purchase${cents === null ? '' : ` · ${formatPaid(cents, currency)} refunded in all`}`;
      return row.description ?? 'Refund';
    }
    case 'gift_code':
      return row.description ?? 'Gift code';
    case 'pending':
      return `Reserved for ${row.model ?? 'a generation'} (pending)`;
    default:
      // Plan allowances say their period, adjustments their reason: both are the grant's reason.
      return row.description ?? humanize(row.type);
  }
}
