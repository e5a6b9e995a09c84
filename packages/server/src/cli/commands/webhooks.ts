/**
 * `tollgate webhooks create|list|deliveries|replay` (app secret key, or the admin key with --app):
 * an app's endpoints, its delivery history and replays, through `@tollgate/client` like any app.
 */
import type { WebhookEventType } from '@tollgate/client';
import { type Command, requireFlag, stringFlag, UsageError } from '../command.ts';

export const webhooksCreate: Command = {
  path: ['webhooks', 'create'],
  group: 'operator',
  summary: 'register a webhook endpoint; prints its signing secret once',
  usage: '--endpoint-url URL --events TYPE,TYPE… [--app APP] [--description TEXT]',
  flags: [
    ['--endpoint-url URL', 'where the events are POSTed'],
    ['--events TYPES', 'comma-separated event types (purchase.completed, balance.low, …), or * for all'],
    ['--app APP', 'the app (with the admin key)'],
    ['--description TEXT', 'a note for people'],
  ],
  // Not --url: that flag is every client command's server address.
  options: {
    'endpoint-url': { type: 'string' },
    events: { type: 'string' },
    app: { type: 'string' },
    description: { type: 'string' },
  },
  async run({ values, context }) {
    const url = requireFlag(values, 'endpoint-url', webhooksCreate);
    const events = requireFlag(values, 'events', webhooksCreate)
      .split(',')
      .map((type) => type.trim())
      .filter(Boolean) as (WebhookEventType | '*')[];
    const app = stringFlag(values, 'app');
    const description = stringFlag(values, 'description');
    const endpoint = await context.operatorClient().webhookEndpoints.create({
      url,
      events,
      ...(app ? { app } : {}),
      ...(description ? { description } : {}),
    });
    const output = context.output;
    output.data(endpoint);
    output.fields([
      ['Endpoint', `${endpoint.url} (${endpoint.id})`],
      ['Events', endpoint.events.join(', ')],
      ['Signing secret', `${output.bold(endpoint.secret ?? '')}  ${output.yellow('shown only now')}`],
    ]);
    return 0;
  },
};

export const webhooksList: Command = {
  path: ['webhooks', 'list'],
  group: 'operator',
  summary: "list the app's webhook endpoints",
  usage: '[--app APP]',
  flags: [['--app APP', 'the app (with the admin key; default: every app)']],
  options: { app: { type: 'string' } },
  async run({ values, context }) {
    const app = stringFlag(values, 'app');
    const list = await context.operatorClient().webhookEndpoints.list(app ? { app } : {});
    const output = context.output;
    output.data(list);
    output.table(
      ['Endpoint', 'URL', 'Events', 'Enabled'],
      list.data.map((endpoint) => [
        endpoint.id,
        endpoint.url,
        endpoint.events.join(','),
        endpoint.enabled ? 'yes' : 'no',
      ]),
    );
    return 0;
  },
};

export const webhooksDeliveries: Command = {
  path: ['webhooks', 'deliveries'],
  group: 'operator',
  summary: 'delivery history: status, attempts, last status code and error',
  usage: '[--status pending|succeeded|dead] [--event ID] [--endpoint ID]',
  flags: [
    ['--status S', 'only pending, succeeded or dead deliveries'],
    ['--event ID', "one event's deliveries"],
    ['--endpoint ID', "one endpoint's deliveries"],
  ],
  options: { status: { type: 'string' }, event: { type: 'string' }, endpoint: { type: 'string' } },
  async run({ values, context }) {
    const status = stringFlag(values, 'status');
    if (status !== undefined && !['pending', 'succeeded', 'dead'].includes(status)) {
      throw new UsageError('--status must be pending, succeeded or dead', webhooksDeliveries);
    }
    const event = stringFlag(values, 'event');
    const endpoint = stringFlag(values, 'endpoint');
    const list = await context.operatorClient().events.deliveries({
      ...(status ? { status: status as 'pending' | 'succeeded' | 'dead' } : {}),
      ...(event ? { event } : {}),
      ...(endpoint ? { endpoint } : {}),
    });
    const output = context.output;
    output.data(list);
    output.table(
      ['Delivery', 'Event', 'Status', 'Attempts', 'Last code', 'Last error'],
      list.data.map((delivery) => [
        delivery.id,
        delivery.event,
        delivery.status,
        String(delivery.attempt_count),
        delivery.last_status_code === null ? '' : String(delivery.last_status_code),
        delivery.last_error ?? '',
      ]),
    );
    return 0;
  },
};

export const webhooksReplay: Command = {
  path: ['webhooks', 'replay'],
  group: 'operator',
  summary: 'send an event (to every endpoint that wants it) or one delivery again',
  usage: '--event ID | --delivery ID',
  flags: [
    ['--event ID', 'the event to send again (same event id)'],
    ['--delivery ID', 'the delivery to send again'],
  ],
  options: { event: { type: 'string' }, delivery: { type: 'string' } },
  async run({ values, context }) {
    const event = stringFlag(values, 'event');
    const delivery = stringFlag(values, 'delivery');
    if ((event === undefined) === (delivery === undefined)) {
      throw new UsageError('give one of --event or --delivery', webhooksReplay);
    }
    const events = context.operatorClient().events;
    const created = event ? (await events.replay(event)).data : [await events.replayDelivery(delivery!)];
    const output = context.output;
    output.data({ object: 'list', data: created });
    output.fields(created.map((row) => ['Queued', `${row.id} (event ${row.event} → ${row.endpoint})`]));
    return 0;
  },
};
