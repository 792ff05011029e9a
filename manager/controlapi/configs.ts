// Control API for configs: like secrets (secrets.ts) but not confidential, so stored in the
// clear and returned with their data. Immutable: there is no update.
import type {
  Config,
  ControlServer,
  CreateConfigRequest,
  GetConfigRequest,
  ListConfigsResponse,
  RemoveConfigRequest,
  RemoveConfigResponse,
} from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import { nameProblem, sizeProblem } from '../secrets/rules.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unary } from '../errors.js';
import { servicesUsing } from './file-refs.js';
import type { FileApiDeps } from './secrets.js';

type ConfigMethods = Pick<ControlServer, 'createConfig' | 'getConfig' | 'listConfigs' | 'removeConfig'>;

export class ConfigsApi {
  constructor(private readonly deps: FileApiDeps) {}

  handlers(): ConfigMethods {
    return {
      createConfig: unary((req: CreateConfigRequest) => this.create(req)),
      getConfig: unary(async (req: GetConfigRequest) => this.find(req.ref)),
      listConfigs: unary(async (): Promise<ListConfigsResponse> => ({
        configs: [...this.deps.state.configs.values()].sort((a, b) => a.spec!.name.localeCompare(b.spec!.name)),
      })),
      removeConfig: unary((req: RemoveConfigRequest) => this.remove(req)),
    };
  }

  async create(req: CreateConfigRequest): Promise<Config> {
    const { state } = this.deps;
    const spec = req.spec;
    const name = spec?.name ?? '';
    const bad = nameProblem('config', name) ?? sizeProblem('config', name, spec?.data.length ?? 0);
    if (bad) throw invalidArgument(bad);
    for (const k of Object.keys(spec!.labels)) if (!k) throw invalidArgument('label key must not be empty');
    if (state.configByName(name)) throw alreadyExists(`config ${name} already exists`);
    const now = this.deps.now();
    const config: Config = {
      id: newId(),
      spec: { name, labels: { ...spec!.labels }, data: Buffer.from(spec!.data) },
      createdAtMs: now,
      updatedAtMs: now,
    };
    state.putConfig(config);
    await this.deps.sync();
    return config;
  }

  async remove(req: RemoveConfigRequest): Promise<RemoveConfigResponse> {
    const config = this.find(req.ref);
    const name = config.spec!.name;
    const users = servicesUsing(this.deps.state, 'config', config.id);
    if (users.length > 0)
      throw failedPrecondition(`config ${name} is in use by service${users.length > 1 ? 's' : ''} ${users.join(', ')}`);
    this.deps.state.deleteConfig(config.id);
    await this.deps.sync();
    return {};
  }

  find(ref: string): Config {
    if (!ref) throw invalidArgument('a config name or id is required');
    const { state } = this.deps;
    const found = state.configByName(ref) ?? state.configs.get(ref);
    if (found) return found;
    const prefixed = [...state.configs.values()].filter((c) => c.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw invalidArgument(`config id prefix "${ref}" is ambiguous`);
    throw notFound(`config ${ref} not found`);
  }
}
