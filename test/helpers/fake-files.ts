// The secrets and configs part of the fake Control service (fake-control.ts): kept in memory,
// with the manager's rules and words (manager/controlapi/secrets.ts, configs.ts): a secret's
// data is kept (tests look at what was sent) but never returned; one a service uses cannot be
// removed; a service naming one that does not exist is refused.
import { status as grpcStatus, type handleUnaryCall, type StatusObject } from '@grpc/grpc-js';
import type {
  Config,
  ConfigSpec,
  CreateConfigRequest,
  CreateSecretRequest,
  ListConfigsResponse,
  ListSecretsResponse,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
} from '../../proto/gen/shoal.js';

type Failure = Partial<StatusObject>;
type Handle = <Req, Res>(method: string, fn: (req: Req) => Res | Failure) => handleUnaryCall<Req, Res>;

const T = Date.parse('2026-01-01T00:00:00Z');

export class FakeFiles {
  /** As stored: a secret's spec.data holds what the CLI sent (the manager would seal it). */
  secrets: Secret[] = [];
  configs: Config[] = [];
  #next = 1;

  constructor(private readonly services: () => Service[]) {}

  addSecret(spec: Partial<SecretSpec> & { name: string }): Secret {
    const data = Buffer.from(spec.data ?? Buffer.from('x'));
    const s: Secret = {
      id: `sec${String(this.#next++).padStart(22, '0')}`,
      spec: { labels: {}, ...spec, data },
      size: data.length,
      createdAtMs: T,
      updatedAtMs: T,
    };
    this.secrets.push(s);
    return s;
  }

  addConfig(spec: Partial<ConfigSpec> & { name: string }): Config {
    const c: Config = {
      id: `cfg${String(this.#next++).padStart(22, '0')}`,
      spec: { labels: {}, ...spec, data: Buffer.from(spec.data ?? Buffer.from('x')) },
      createdAtMs: T,
      updatedAtMs: T,
    };
    this.configs.push(c);
    return c;
  }

  /** The manager's refusal of a spec naming a secret or config that does not exist. */
  missingRef(spec: ServiceSpec): Failure | undefined {
    for (const r of spec.secrets ?? [])
      if (!this.secrets.some((s) => s.spec?.name === r.secretName))
        return { code: grpcStatus.NOT_FOUND, details: `secret ${r.secretName} not found` };
    for (const r of spec.configs ?? [])
      if (!this.configs.some((c) => c.spec?.name === r.configName))
        return { code: grpcStatus.NOT_FOUND, details: `config ${r.configName} not found` };
    return undefined;
  }

  handlers(handle: Handle) {
    const hide = (s: Secret): Secret => ({ ...s, spec: { ...s.spec!, data: Buffer.alloc(0) } });
    return {
      createSecret: handle<CreateSecretRequest, Secret>('createSecret', (req) => {
        const name = req.spec?.name ?? '';
        if (this.secrets.some((s) => s.spec?.name === name))
          return { code: grpcStatus.ALREADY_EXISTS, details: `secret ${name} already exists` };
        return hide(this.addSecret({ ...req.spec, name }));
      }),
      getSecret: handle<{ ref: string }, Secret>('getSecret', (req) => {
        const found = this.#find(this.secrets, req.ref);
        return found ? hide(found) : { code: grpcStatus.NOT_FOUND, details: `secret ${req.ref} not found` };
      }),
      listSecrets: handle<object, ListSecretsResponse>('listSecrets', () => ({ secrets: this.secrets.map(hide) })),
      removeSecret: handle<{ ref: string }, object>('removeSecret', (req) => {
        const found = this.#find(this.secrets, req.ref);
        if (!found) return { code: grpcStatus.NOT_FOUND, details: `secret ${req.ref} not found` };
        const name = found.spec?.name ?? '';
        const users = this.#users((s) => s.secrets.some((r) => r.secretName === name));
        if (users) return { code: grpcStatus.FAILED_PRECONDITION, details: `secret ${name} is in use by ${users}` };
        this.secrets = this.secrets.filter((s) => s !== found);
        return {};
      }),
      createConfig: handle<CreateConfigRequest, Config>('createConfig', (req) => {
        const name = req.spec?.name ?? '';
        if (this.configs.some((c) => c.spec?.name === name))
          return { code: grpcStatus.ALREADY_EXISTS, details: `config ${name} already exists` };
        return this.addConfig({ ...req.spec, name });
      }),
      getConfig: handle<{ ref: string }, Config>('getConfig', (req) => {
        const found = this.#find(this.configs, req.ref);
        return found ?? { code: grpcStatus.NOT_FOUND, details: `config ${req.ref} not found` };
      }),
      listConfigs: handle<object, ListConfigsResponse>('listConfigs', () => ({ configs: this.configs })),
      removeConfig: handle<{ ref: string }, object>('removeConfig', (req) => {
        const found = this.#find(this.configs, req.ref);
        if (!found) return { code: grpcStatus.NOT_FOUND, details: `config ${req.ref} not found` };
        const name = found.spec?.name ?? '';
        const users = this.#users((s) => s.configs.some((r) => r.configName === name));
        if (users) return { code: grpcStatus.FAILED_PRECONDITION, details: `config ${name} is in use by ${users}` };
        this.configs = this.configs.filter((c) => c !== found);
        return {};
      }),
    };
  }

  #find<T extends { id: string; spec?: { name: string } }>(list: T[], ref: string): T | undefined {
    return list.find((x) => x.id === ref || x.spec?.name === ref) ?? list.find((x) => x.id.startsWith(ref));
  }

  /** "service web" / "services api, web", or '' when none uses it. */
  #users(uses: (spec: ServiceSpec) => boolean): string {
    const names = this.services()
      .filter((s) => s.spec !== undefined && uses(s.spec))
      .map((s) => s.spec!.name)
      .sort();
    return names.length === 0 ? '' : `service${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  }
}
