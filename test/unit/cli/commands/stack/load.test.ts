// cli/commands/stack/compose/load.ts: YAML with positions, interpolation, the schema's one-line
// errors (file:line: key: why), Swarm's ignored/deprecated/refused keys, merging -c files.
import test from 'ava';
import { ComposeError, loadCompose } from '../../../../../cli/commands/stack/compose/load.js';

const env = new Map([['TAG', '2']]);
const load = (text: string, path = 'stack.yml') => loadCompose([{ path, text }], env);
const error = (text: string): string => {
  const err = (() => {
    try {
      load(text);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(err instanceof ComposeError)) throw new Error(`expected a ComposeError, got ${String(err)}`);
  return err.message;
};

test('a valid file: values interpolated, environment and labels as maps', (t) => {
  const { compose, warnings } = load(
    'version: "3.8"\nservices:\n  web:\n    image: "busybox:${TAG}"\n    environment: [A=1, B]\n    labels: {x: y}\n',
  );
  const web = (compose.services as Record<string, Record<string, unknown>>).web!;
  t.is(web.image, 'busybox:2');
  t.deepEqual(web.environment, { A: '1', B: null });
  t.deepEqual(web.labels, { x: 'y' });
  t.deepEqual(warnings, []);
});

test('schema errors name the file, the line and the key', (t) => {
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: busybox\n    bogus: 1\n'),
    'stack.yml:5: services.web.bogus: additional property bogus is not allowed',
  );
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: busybox\n    deploy:\n      mode: everywhere\n'),
    'stack.yml:6: services.web.deploy.mode: must be one of replicated, global',
  );
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: busybox\n    deploy:\n      replicas: many\n'),
    'stack.yml:6: services.web.deploy.replicas: must be integer',
  );
  t.is(error('version: "3.8"\nvolumes2: {}\n'), 'stack.yml:2: volumes2: additional property volumes2 is not allowed');
  t.is(
    error('version: "2.1"\nservices: {}\n'),
    'stack.yml:1: unsupported Compose file version: 2.1 (stack deploy reads 3.x)',
  );
  t.regex(error('version: "3"\nservices:\n  web: [\n'), /^stack\.yml:\d+: invalid YAML: /);
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: ${NOPE?need it}\n'),
    'stack.yml:4: services.web.image: required variable NOPE is missing a value: need it',
  );
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: busybox\n    command: ["a", "${X:?x missing}"]\n'),
    'stack.yml:5: required variable X is missing a value: x missing',
  );
});

test("Swarm's ignored and deprecated keys warn; refused ones fail, each named", (t) => {
  const { warnings } = load(
    'version: "3.8"\nservices:\n  web:\n    image: busybox\n    build: .\n    links: [db]\n    container_name: w\n    depends_on: [db]\n  db:\n    image: busybox\n    restart: always\n    expose: ["80"]\n',
  );
  t.deepEqual(warnings, [
    'Ignoring unsupported options: build, links, restart',
    'Ignoring deprecated options: container_name, expose',
  ]);
  t.is(
    error('version: "3.8"\nservices:\n  web:\n    image: busybox\n    extends: x\n    cpu_shares: 2\n'),
    'compose file contains unsupported options: extends (services.web), cpu_shares (services.web) (in stack.yml)',
  );
});

test('-c A -c B: B overrides A key by key; maps merge, keyed lists merge by key, other lists are replaced', (t) => {
  const a = {
    path: '/x/a.yml',
    text: 'version: "3.8"\nservices:\n  web:\n    image: busybox:1\n    command: [a]\n    environment: {A: "1", B: "1"}\n    ports: ["80:80", "81:81"]\n    env_file: web.env\n    deploy: {replicas: 2, labels: [x=1]}\n  db:\n    image: db\nnetworks:\n  front: {}\n',
  };
  const b = {
    path: '/y/b.yml',
    text: 'version: "3.8"\nservices:\n  web:\n    image: busybox:2\n    command: [b]\n    environment: [B=2]\n    ports: ["81:8181"]\n    deploy: {labels: {y: "2"}}\nnetworks:\n  back: {}\n',
  };
  const { compose } = loadCompose([a, b], env);
  const services = compose.services as Record<string, Record<string, unknown>>;
  t.is(services.web!.image, 'busybox:2');
  t.deepEqual(services.web!.command, ['b']);
  t.deepEqual(services.web!.environment, { A: '1', B: '2' });
  t.deepEqual(services.web!.ports, ['80:80', '81:8181']);
  t.deepEqual(services.web!.deploy, { replicas: 2, labels: { x: '1', y: '2' } });
  t.deepEqual(services.web!.env_file, ['/x/web.env'], "relative to its own file's folder");
  t.truthy(services.db);
  t.deepEqual(Object.keys(compose.networks as object), ['front', 'back']);
});
