/** A small Prometheus text registry: counters and a latency histogram, no dependency. */
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

const UNSAFE_LABEL_CHARACTER = /["\\\n]/;
const UNSAFE_LABEL_CHARACTERS = /["\\\n]/g;

// Runs on every counted request: concatenation, and a replace only for a value that needs it.
function labelText(labels: Labels): string {
  let text = '';
  for (const name in labels) {
    const value = labels[name]!;
    const safe = UNSAFE_LABEL_CHARACTER.test(value) ? value.replace(UNSAFE_LABEL_CHARACTERS, '_') : value;
    text += `${text ? ',' : '{'}${name}="${safe}"`;
  }
  return text ? `${text}}` : '';
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [labels, value] of this.values) lines.push(`${this.name}${labels} ${value}`);
    return lines.join('\n');
  }
}

class Histogram {
  private readonly series = new Map<
    string,
    { buckets: number[]; sum: number; count: number; labels: Labels }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(labels: Labels, seconds: number): void {
    const key = labelText(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0, labels };
      this.series.set(key, entry);
    }
    for (let index = 0; index < LATENCY_BUCKETS_SECONDS.length; index += 1) {
      if (seconds <= LATENCY_BUCKETS_SECONDS[index]!) entry.buckets[index]! += 1;
    }
    entry.sum += seconds;
    entry.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const entry of this.series.values()) {
      LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
        lines.push(
          `${this.name}_bucket${labelText({ ...entry.labels, le: String(bound) })} ${entry.buckets[index]}`,
        );
      });
      lines.push(`${this.name}_bucket${labelText({ ...entry.labels, le: '+Inf' })} ${entry.count}`);
      lines.push(`${this.name}_sum${labelText(entry.labels)} ${entry.sum}`);
      lines.push(`${this.name}_count${labelText(entry.labels)} ${entry.count}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  readonly requests = new Counter('tollgate_http_requests_total', 'HTTP requests by route and status');
  readonly latency = new Histogram('tollgate_http_request_duration_seconds', 'HTTP request latency');
  readonly holds = new Counter('tollgate_holds_total', 'Holds placed, by funding');
  readonly captures = new Counter('tollgate_captures_total', 'Holds captured');
  readonly voids = new Counter('tollgate_voids_total', 'Holds voided, by reason');
  readonly insufficientCredits = new Counter('tollgate_insufficient_credits_total', '402 answers');
  readonly gatewayRequests = new Counter(
    'tollgate_gateway_requests_total',
    'Gateway requests by outcome (ok, insufficient_credits, upstream_error, client_closed, hold_refused: the database refused a hold after the provider call had started)',
  );
  readonly gatewayUpstreamAttempts = new Counter(
    'tollgate_gateway_upstream_attempts_total',
    'Provider attempts of gateway calls, by provider and outcome (answered, timeout, unreachable, status_429, status_5xx, status_4xx)',
  );
  readonly gatewayUsageAnomalies = new Counter(
    'tollgate_gateway_usage_anomalies_total',
    'Provider usage not billed as reported (above what the request allowed, or unreadable), by kind',
  );

  render(): string {
    return `${[
      this.requests,
      this.latency,
      this.holds,
      this.captures,
      this.voids,
      this.insufficientCredits,
      this.gatewayRequests,
      this.gatewayUpstreamAttempts,
      this.gatewayUsageAnomalies,
    ]
      .map((metric) => metric.render())
      .join('\n')}\n`;
  }
}
