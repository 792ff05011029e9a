// Control API for secrets: create (sealed before it is stored), inspect and list (never
// the data), remove (never while a service uses it). Immutable: there is no update.
import type {
  ControlServer,
  CreateSecretRequest,
  GetSecretRequest,
  ListSecretsResponse,
  RemoveSecretRequest,
  RemoveSecretResponse,
  Secret,
} from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import type { ClusterState } from '../store/cluster-state.js';
import type { Keyring } from '../secrets/keyring.js';
import { nameProblem, sizeProblem } from '../secrets/rules.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unary, unavailable } from '../errors.js';
import { servicesUsing } from './file-refs.js';

export interface FileApiDeps {
  state: ClusterState;
  /** Resolves once every write made so far is durable. */
  sync: () => Promise<void>;
  /** Seals secrets (the leader's; without it CreateSecret is UNAVAILABLE). */
  keyring?: Keyring;
  now: () => number;
}

type SecretMethods = Pick<ControlServer, 'createSecret' | 'getSecret' | 'listSecrets' | 'removeSecret'>;

/** What any answer shows of a secret: everything but its data. */
export function withoutData(secret: Secret): Secret {
  return {
    ...secret,
    spec: { name: secret.spec?.name ?? '', labels: secret.spec?.labels ?? {}, data: Buffer.alloc(0) },
  };
}

export class SecretsApi {
  constructor(private readonly deps: FileApiDeps) {}

  handlers(): SecretMethods {
    return {
      createSecret: unary((req: CreateSecretRequest) => this.create(req)),
      getSecret: unary(async (req: GetSecretRequest) => withoutData(this.find(req.ref))),
      listSecrets: unary(async (): Promise<ListSecretsResponse> => ({
        secrets: [...this.deps.state.secrets.values()]
          .sort((a, b) => a.spec!.name.localeCompare(b.spec!.name))
          .map(withoutData),
      })),
      removeSecret: unary((req: RemoveSecretRequest) => this.remove(req)),
    };
  }

  async create(req: CreateSecretRequest): Promise<Secret> {
    const { state, keyring } = this.deps;
    const spec = req.spec;
    const name = spec?.name ?? '';
    const bad = nameProblem('secret', name) ?? sizeProblem('secret', name, spec?.data.length ?? 0);
    if (bad) throw invalidArgument(bad);
    for (const k of Object.keys(spec!.labels)) if (!k) throw invalidArgument('label key must not be empty');
    if (state.secretByName(name)) throw alreadyExists(`secret ${name} already exists`);
    if (!keyring) throw unavailable('this manager cannot seal secrets (it has no cluster key)');
    const id = newId();
    const now = this.deps.now();
    const sealed = keyring.sealSecret(state, id, spec!.data);
    const secret: Secret = {
      id,
      spec: { name, labels: { ...spec!.labels }, data: sealed },
      size: spec!.data.length,
      createdAtMs: now,
      updatedAtMs: now,
    };
    state.putSecret(secret);
    await this.deps.sync();
    return withoutData(secret);
  }

  async remove(req: RemoveSecretRequest): Promise<RemoveSecretResponse> {
    const secret = this.find(req.ref);
    const name = secret.spec!.name;
    const users = servicesUsing(this.deps.state, 'secret', secret.id);
    if (users.length > 0)
      throw failedPrecondition(`secret ${name} is in use by service${users.length > 1 ? 's' : ''} ${users.join(', ')}`);
    this.deps.state.deleteSecret(secret.id);
    await this.deps.sync();
    return {};
  }

  find(ref: string): Secret {
    if (!ref) throw invalidArgument('a secret name or id is required');
    const { state } = this.deps;
    const found = state.secretByName(ref) ?? state.secrets.get(ref);
    if (found) return found;
    const prefixed = [...state.secrets.values()].filter((s) => s.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw invalidArgument(`secret id prefix "${ref}" is ambiguous`);
    throw notFound(`secret ${ref} not found`);
  }
}
