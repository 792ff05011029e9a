// ClusterState's subscriptions: onChange returns the unsubscribe every subscriber keeps.
import test from 'ava';
import { ClusterState, type Change } from '../../../../manager/store/cluster-state.js';
import { makeNode } from '../../../helpers/fixtures.js';

test('onChange returns its unsubscribe: nothing is heard after it, calling it twice is harmless', (t) => {
  const state = new ClusterState();
  const a: Change[] = [];
  const b: Change[] = [];
  const offA = state.onChange((c) => a.push(c));
  state.onChange((c) => b.push(c));
  state.putNode(makeNode('host1'));
  offA();
  offA();
  state.putNode(makeNode('host2'));
  t.deepEqual(
    a.map((c) => c.id),
    ['id-host1'],
  );
  t.deepEqual(
    b.map((c) => c.id),
    ['id-host1', 'id-host2'],
    'the other subscriber still hears every change',
  );
});

test('the same function subscribed twice is two subscriptions; a listener may unsubscribe while being called', (t) => {
  const state = new ClusterState();
  const heard: string[] = [];
  const listener = (c: Change) => heard.push(c.id);
  const off1 = state.onChange(listener);
  state.onChange(listener);
  const offSelf: { off?: () => void } = {};
  offSelf.off = state.onChange(() => offSelf.off?.());
  state.putNode(makeNode('host1'));
  t.deepEqual(heard, ['id-host1', 'id-host1']);
  off1();
  state.putNode(makeNode('host2'));
  t.deepEqual(heard, ['id-host1', 'id-host1', 'id-host2']);
});
