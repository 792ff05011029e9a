import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ResolveImage } from '../../../../../proto/gen/shoal.js';
import { decodeRegistryAuth } from '../../../../../proto/registry-auth.js';
import {
  IMAGE_FLAGS,
  imageRequestOptions,
  registryAuthFor,
  unpinnedWarning,
} from '../../../../../cli/commands/service/image-flags.js';
import { parseFlags } from '../../../../../cli/parse/flags.js';

const flags = (...args: string[]) => parseFlags(args, IMAGE_FLAGS, 'service create', false).flags;

function withConfig(config: unknown, fn: (env: NodeJS.ProcessEnv) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-docker-config-'));
  try {
    writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
    fn({ DOCKER_CONFIG: dir, HOME: '/nonexistent' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('--resolve-image always|changed|never (default always); anything else is a usage error', (t) => {
  const env = { DOCKER_CONFIG: '/nonexistent' };
  t.deepEqual(imageRequestOptions(flags(), 'busybox', env), { resolveImage: ResolveImage.ALWAYS, registryAuth: '' });
  t.is(imageRequestOptions(flags('--resolve-image', 'changed'), 'x', env).resolveImage, ResolveImage.CHANGED);
  t.is(imageRequestOptions(flags('--resolve-image', 'never'), 'x', env).resolveImage, ResolveImage.NEVER);
  t.throws(() => imageRequestOptions(flags('--resolve-image', 'sometimes'), 'x', env), {
    message: 'invalid --resolve-image "sometimes": expected always, changed or never',
  });
});

test("--with-registry-auth reads $DOCKER_CONFIG/config.json for the image's registry", (t) => {
  const config = {
    auths: {
      '10.213.0.1:5001': { auth: b64('shoal:pa:ss') },
      'http://10.213.0.1:5002/': { auth: b64('u2:p2') },
      'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
    },
  };
  withConfig(config, (env) => {
    const o = imageRequestOptions(flags('--with-registry-auth'), '10.213.0.1:5001/shoal/private:latest', env);
    t.deepEqual(decodeRegistryAuth(o.registryAuth), {
      username: 'shoal',
      password: 'pa:ss',
      serveraddress: '10.213.0.1:5001',
    });
    t.is(decodeRegistryAuth(registryAuthFor('10.213.0.1:5002/x', env)).username, 'u2');
    t.deepEqual(decodeRegistryAuth(registryAuthFor('busybox', env)), {
      username: 'hub',
      password: 'hubpw',
      serveraddress: 'https://index.docker.io/v1/',
    });
    t.is(registryAuthFor('other.example/x', env), '', 'no entry: none sent (docker pulls anonymously)');
    t.is(imageRequestOptions(flags(), '10.213.0.1:5001/x', env).registryAuth, '', 'only with the flag');
  });
  t.is(registryAuthFor('busybox', { DOCKER_CONFIG: '/nonexistent' }), '', 'no config file: none');
  withConfig('{not json', (env) => {
    t.throws(() => registryAuthFor('busybox', env), { message: /^--with-registry-auth: cannot read .*config\.json/ });
  });
  withConfig({ credsStore: 'pass' }, (env) => {
    t.throws(() => registryAuthFor('busybox', env), {
      message:
        '--with-registry-auth: the credentials of docker.io are in a credential helper (docker-credential-pass), which shoal does not run',
    });
  });
});

test("docker's digest warning only when the manager could not pin", (t) => {
  const pinned = `busybox:latest@sha256:${'a'.repeat(64)}`;
  t.is(unpinnedWarning('busybox', pinned, ResolveImage.ALWAYS), undefined);
  t.is(unpinnedWarning('busybox', 'busybox', ResolveImage.NEVER), undefined);
  t.is(unpinnedWarning(pinned, pinned, ResolveImage.ALWAYS), undefined);
  t.is(
    unpinnedWarning('busybox', 'busybox', ResolveImage.ALWAYS),
    'image busybox could not be accessed on a registry to record\nits digest. Each node will access busybox independently,\npossibly leading to different nodes running different\nversions of the image.',
  );
});
