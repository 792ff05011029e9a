import test from 'ava';
import { ConstraintError, formatConstraint, parseConstraint } from '../../../proto/constraint.js';

test('parses == and != with docker keys; spaces around the operator are dropped', (t) => {
  t.deepEqual(parseConstraint('node.hostname==host2'), { key: 'node.hostname', op: '==', value: 'host2' });
  t.deepEqual(parseConstraint(' node.labels.zone != a '), { key: 'node.labels.zone', op: '!=', value: 'a' });
  t.deepEqual(parseConstraint('engine.labels.disk==ssd'), { key: 'engine.labels.disk', op: '==', value: 'ssd' });
  t.is(formatConstraint(parseConstraint('node.labels.zone == a')), 'node.labels.zone==a');
  t.is(formatConstraint(parseConstraint('node.labels.example.com/zone==eu-1')), 'node.labels.example.com/zone==eu-1');
});

test('malformed constraints name the problem', (t) => {
  const message = (text: string): string =>
    t.throws(() => parseConstraint(text), { instanceOf: ConstraintError }).message;
  for (const bad of ['nonsense', 'a=b', '==b', 'a b==c', 'node.id==b!=c', 'a!b==c']) {
    t.is(message(bad), `invalid constraint "${bad}": expected KEY==VALUE or KEY!=VALUE`, bad);
  }
  t.regex(
    message('node.color==red'),
    /^invalid constraint "node.color==red": unknown key "node.color" \(use node.id, /,
  );
  t.regex(message('node.labels.==x'), /unknown key "node.labels."/);
  t.is(message('node.hostname=='), 'invalid constraint "node.hostname==": missing value after ==');
});
