// cli/commands/events/format.ts: an Event as one line of text, or one JSON object.
import test from 'ava';
import { eventLine, eventRow } from '../../../../../cli/commands/events/format.js';
import type { Event } from '../../../../../proto/gen/shoal.js';
import { T0 } from '../../../../helpers/cli-fixtures.js';

const ev = (subject: string, payload: unknown): Event => ({
  type: subject.split('.')[2] ?? '',
  subject,
  timeMs: T0,
  payloadJson: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

test('eventLine: known shapes, a global task, unknown fields and shapes, text that is not JSON', (t) => {
  t.is(
    eventLine(
      ev('shoal.events.task.agent', {
        type: 'created',
        task: 't9',
        service: 'agent',
        slot: 0,
        nodeId: 'n9zzzzzzzzzzzzzz',
        state: 'new',
        desiredState: 'running',
        error: '',
        containerId: '',
      }),
    ),
    '2026-01-02T03:04:05.000Z task created agent.n9zzzzzzzzzz task=t9 node=n9zzzzzzzzzzzzzz state=new desired=running',
  );
  t.is(
    eventLine(
      ev('shoal.events.endpoint.web', {
        type: 'deregistered',
        service: 'web',
        slot: 2,
        task: 't2',
        node: 'host3',
        addresses: [
          { network: 'a', ip: '10.42.3.4' },
          { network: 'b', ip: '10.50.3.4' },
        ],
        ports: [],
        reason: 'node down',
      }),
    ),
    '2026-01-02T03:04:05.000Z endpoint deregistered web.2 task=t2 node=host3 ip=10.42.3.4,10.50.3.4 reason="node down"',
  );
  t.is(
    eventLine(
      ev('shoal.events.endpoint.dns', {
        type: 'registered',
        service: 'dns',
        task: 't1',
        slot: 1,
        nodeId: 'n1',
        node: '',
        addresses: [],
        ports: [{ protocol: 'udp', targetPort: 53, publishedPort: 53, publishMode: 'host' }],
      }),
    ),
    '2026-01-02T03:04:05.000Z endpoint registered dns.1 task=t1 node=n1 ports=host:53->53/udp',
  );
  t.is(
    eventLine(ev('shoal.events.widget.thing', { count: 2, tags: ['x'] })),
    '2026-01-02T03:04:05.000Z widget event thing count=2 tags=["x"]',
  );
  t.is(eventLine(ev('shoal.events.task.web', 'not json')), '2026-01-02T03:04:05.000Z task event web "not json"');
});

test('eventRow: the payload parsed, or its text', (t) => {
  t.deepEqual(eventRow(ev('shoal.events.node.h', { a: 1 })), {
    time: '2026-01-02T03:04:05.000Z',
    type: 'node',
    subject: 'shoal.events.node.h',
    payload: { a: 1 },
  });
  t.is(eventRow(ev('shoal.events.node.h', '{oops')).payload, '{oops');
});
