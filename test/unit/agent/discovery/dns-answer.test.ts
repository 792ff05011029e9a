// What a name means to the agent's DNS server (agent/discovery/dns-answer.ts): a cluster
// name by the service list (names may hold dots), NXDOMAIN, or forwarded.
import test from 'ava';
import { meaning } from '../../../../agent/discovery/dns-answer.js';

test('meaning: cluster names by the service list, names with dots, what is forwarded', (t) => {
  const names = (n: string) => (['web', 'my.api', 'tasks'].includes(n.toLowerCase()) ? n.toLowerCase() : null);
  t.like(meaning('web', names), { kind: 'service', service: 'web', form: 'name' });
  t.like(meaning('tasks.web', names), { kind: 'service', service: 'web', form: 'tasks' });
  t.like(meaning('abc.tasks.my.api', names), { kind: 'service', service: 'my.api', form: 'task', taskId: 'abc' });
  t.like(meaning('_web._tcp', names), { kind: 'service', service: 'web', form: 'srv', proto: 'tcp' });
  t.like(meaning('tasks', names), { kind: 'service', service: 'tasks', form: 'name' });
  t.like(meaning('my.api.', names), { kind: 'service', service: 'my.api', form: 'name' });
  t.deepEqual(meaning('api', names), { kind: 'nxdomain' });
  t.deepEqual(meaning('tasks.api.example', names), { kind: 'nxdomain' });
  t.deepEqual(meaning('www.example.com', names), { kind: 'forward' });
  t.deepEqual(meaning('web.example.com', names), { kind: 'forward' });
  t.deepEqual(meaning('', names), { kind: 'forward' });
  const unknown = () => undefined;
  t.like(meaning('web', unknown), { kind: 'service', service: 'web', form: 'name' });
  t.like(meaning('tasks.web', unknown), { kind: 'service', service: 'web', form: 'tasks' });
  t.deepEqual(meaning('my.api', unknown), { kind: 'forward' });
});
