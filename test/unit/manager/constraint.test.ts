import test from 'ava';
import { ConstraintError, matches, parseConstraint } from '../../../manager/scheduler/constraint.js';
import { makeNode } from '../../helpers/fixtures.js';

test('parses == and != with docker keys', (t) => {
  t.deepEqual(parseConstraint('node.hostname==host2'), { key: 'node.hostname', op: '==', value: 'host2' });
  t.deepEqual(parseConstraint(' node.labels.zone != a '), { key: 'node.labels.zone', op: '!=', value: 'a' });
});

test('malformed constraints name the problem', (t) => {
  t.is(
    t.throws(() => parseConstraint('nonsense'), { instanceOf: ConstraintError })?.message,
    'invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE',
  );
  t.regex(t.throws(() => parseConstraint('node.color==red')).message, /unknown key "node.color"/);
  t.regex(t.throws(() => parseConstraint('node.hostname==')).message, /missing value/);
});

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
