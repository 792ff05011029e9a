import test from 'ava';
import { parseConstraint } from '../../../../proto/constraint.js';
import { matches } from '../../../../manager/scheduler/constraint.js';
import { makeNode } from '../../../helpers/fixtures.js';

test('matches hostname, id, user and engine labels', (t) => {
  const n = makeNode('host2', { labels: { zone: 'b' }, engineLabels: { disk: 'ssd', zone: 'x' } });
  t.true(matches(n, parseConstraint('node.hostname==host2')));
  t.true(matches(n, parseConstraint('node.hostname==HOST2')), 'case-insensitive as swarm');
  t.false(matches(n, parseConstraint('node.hostname!=host2')));
  t.true(matches(n, parseConstraint('node.id==id-host2')));
  t.true(matches(n, parseConstraint('node.labels.zone==b')), 'user labels override engine labels');
  t.true(matches(n, parseConstraint('engine.labels.zone==x')));
  t.true(matches(n, parseConstraint('node.labels.disk==ssd')));
  t.false(matches(n, parseConstraint('node.labels.missing==x')));
  t.true(matches(n, parseConstraint('node.labels.missing!=x')));
});
