// A JSON schema of compose file format 3.x as `docker stack deploy` reads it (written for
// shoal from the format's reference; keys Swarm ignores are allowed here and warned about by
// keys.ts, keys it refuses are refused by keys.ts before this schema runs). Checked with ajv.
import type { JSONSchemaType } from 'ajv';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const strOrNum: Schema = { type: ['string', 'number'] };
const bool: Schema = { type: 'boolean' };
const int: Schema = { type: 'integer' };
const strList: Schema = { type: 'array', items: str };
const strOrList: Schema = { type: ['string', 'array'], items: str };
/** `KEY: VALUE` or `["KEY=VALUE"]` (environment, labels). */
const listOrDict: Schema = {
  oneOf: [
    { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    { type: 'array', items: str, uniqueItems: true },
  ],
};
const labels = listOrDict;
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  additionalProperties: false,
  ...extra,
});

const updateConfig = obj({
  parallelism: int,
  delay: str,
  failure_action: { type: 'string', enum: ['pause', 'continue', 'rollback'] },
  monitor: str,
  max_failure_ratio: { type: 'number' },
  order: { type: 'string', enum: ['stop-first', 'start-first'] },
});
const resource = obj({
  cpus: strOrNum,
  memory: str,
  pids: int,
  generic_resources: { type: 'array' },
  devices: { type: 'array' },
});

const deploy = obj({
  mode: { type: 'string', enum: ['replicated', 'global'] },
  replicas: int,
  endpoint_mode: { type: 'string', enum: ['vip', 'dnsrr'] },
  labels,
  update_config: updateConfig,
  rollback_config: updateConfig,
  resources: obj({ limits: resource, reservations: resource }),
  restart_policy: obj({
    condition: { type: 'string', enum: ['none', 'on-failure', 'any'] },
    delay: str,
    max_attempts: int,
    window: str,
  }),
  placement: obj({
    constraints: strList,
    preferences: { type: 'array', items: obj({ spread: str }) },
    max_replicas_per_node: int,
  }),
});

const fileRef = { oneOf: [str, obj({ source: str, target: str, uid: str, gid: str, mode: { type: 'number' } })] };
const ignored = {}; // anything: Swarm ignores these keys (keys.ts warns)

const service = obj({
  image: str,
  command: strOrList,
  entrypoint: strOrList,
  environment: listOrDict,
  env_file: strOrList,
  ports: {
    type: 'array',
    items: {
      oneOf: [
        strOrNum,
        obj({
          mode: { type: 'string', enum: ['ingress', 'host'] },
          target: int,
          published: { type: ['integer', 'string'] },
          protocol: { type: 'string', enum: ['tcp', 'udp'] },
        }),
      ],
    },
  },
  networks: {
    oneOf: [
      { type: 'array', items: str, uniqueItems: true },
      {
        type: 'object',
        additionalProperties: {
          oneOf: [obj({ aliases: strList, ipv4_address: str, ipv6_address: str }), { type: 'null' }],
        },
      },
    ],
  },
  volumes: {
    type: 'array',
    items: {
      oneOf: [
        str,
        obj(
          {
            type: { type: 'string', enum: ['volume', 'bind', 'tmpfs'] },
            source: str,
            target: str,
            read_only: bool,
            consistency: str,
            bind: obj({ propagation: str }),
            volume: obj({ nocopy: bool }),
            tmpfs: obj({ size: { type: ['integer', 'string'] } }),
          },
          { required: ['type'] },
        ),
      ],
    },
  },
  secrets: { type: 'array', items: fileRef },
  configs: { type: 'array', items: fileRef },
  healthcheck: obj({
    test: strOrList,
    interval: str,
    timeout: str,
    retries: { type: 'number' },
    start_period: str,
    disable: bool,
  }),
  user: str,
  working_dir: str,
  hostname: str,
  labels,
  stop_grace_period: str,
  stop_signal: str,
  read_only: bool,
  init: bool,
  cap_add: strList,
  cap_drop: strList,
  ulimits: {
    type: 'object',
    additionalProperties: { oneOf: [int, obj({ soft: int, hard: int }, { required: ['soft', 'hard'] })] },
  },
  dns: strOrList,
  dns_search: strOrList,
  tmpfs: strOrList,
  deploy,
  depends_on: ignored,
  logging: ignored,
  sysctls: ignored,
  isolation: ignored,
  stdin_open: ignored,
  tty: ignored,
  extra_hosts: ignored,
  // Swarm ignores these (with a warning) or calls them deprecated: keys.ts lists them.
  build: ignored,
  cgroup_parent: ignored,
  devices: ignored,
  domainname: ignored,
  external_links: ignored,
  ipc: ignored,
  links: ignored,
  mac_address: ignored,
  network_mode: ignored,
  pid: ignored,
  privileged: ignored,
  restart: ignored,
  security_opt: ignored,
  shm_size: ignored,
  userns_mode: ignored,
  container_name: ignored,
  expose: ignored,
});

const external = { oneOf: [bool, obj({ name: str })] };
const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: 'null' }] });

export const COMPOSE_SCHEMA = obj(
  {
    version: str,
    services: { type: 'object', propertyNames: { pattern: '^[a-zA-Z0-9._-]+$' }, additionalProperties: service },
    networks: {
      type: 'object',
      additionalProperties: nullable(
        obj({
          driver: str,
          driver_opts: { type: 'object' },
          external,
          name: str,
          labels,
          attachable: bool,
          internal: bool,
          ipam: { type: 'object' },
        }),
      ),
    },
    volumes: {
      type: 'object',
      additionalProperties: nullable(
        obj({ driver: str, driver_opts: { type: 'object' }, external, name: str, labels }),
      ),
    },
    secrets: {
      type: 'object',
      additionalProperties: obj({ file: str, external, name: str, labels, driver: str, template_driver: str }),
    },
    configs: {
      type: 'object',
      additionalProperties: obj({ file: str, external, name: str, labels, template_driver: str }),
    },
  },
  { required: ['version'], patternProperties: { '^x-': {} } },
) as unknown as JSONSchemaType<unknown>;
