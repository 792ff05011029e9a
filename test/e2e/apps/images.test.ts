// Images (#13): the manager pins a tag to a digest, every task runs those bits (asked from
// each host's dockerd), a tag moved during a scale-up changes nothing, and --with-registry-auth
// deploys an image only the bed's basic-auth registry (10.213.0.1:5001) has; without it the
// task fails with the engine's pull error, and `service inspect` never shows the credential.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import {
  containersOf,
  docker,
  dockerCli,
  IMAGE,
  removeService,
  shoal,
  shoalJson,
  shoalOk,
  SLEEP,
  uniqueName,
  waitFor,
} from '../../helpers/bed.js';

const AUTH_REGISTRY = '10.213.0.1:5001';
const AUTH = { username: 'shoal', password: 'shoal-bed-registry', serveraddress: AUTH_REGISTRY };
const PINNED = /@(sha256:[0-9a-f]{64})$/;
const CONVERGE_MS = 40_000;

interface TaskJson {
  id: string;
  image: string;
  state: string;
  desiredState: string;
  error: string;
}

async function storedImage(service: string): Promise<string> {
  const rows = await shoalJson<{ name: string; image: string }>('service', 'ls');
  return rows.find((r) => r.name === service)?.image ?? '';
}

/** The image each running container of `service` was created with, and its repo digests, per host's dockerd. */
async function containerImages(service: string): Promise<Array<{ config: string; digests: string[] }>> {
  const out = [];
  for (const c of await containersOf(service)) {
    const info = await docker(c.host).getContainer(c.id).inspect();
    const image = await docker(c.host).getImage(info.Image).inspect();
    out.push({ config: info.Config.Image, digests: image.RepoDigests ?? [] });
  }
  return out;
}

async function follow(d: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  const out = await new Promise<Array<{ error?: string }>>((resolve, reject) =>
    d.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string }>) =>
      err ? reject(err) : resolve(res),
    ),
  );
  const failed = out.find((o) => o.error);
  if (failed) throw new Error(failed.error);
}

/** Tags `from` (pulled on host1 if needed) as `to` and pushes it (with `auth` for a private registry). */
async function pushAs(from: string, to: string, auth?: typeof AUTH): Promise<void> {
  const d = docker('host1');
  await follow(d, await d.pull(from));
  const [repo, tag] = [to.slice(0, to.lastIndexOf(':')), to.slice(to.lastIndexOf(':') + 1)];
  await d.getImage(from).tag({ repo, tag });
  await follow(d, await d.getImage(to).push({ tag, ...(auth ? { authconfig: auth } : {}) }));
}

test.serial('a service stores its image pinned to a digest, and every container runs that digest', async (t) => {
  const name = uniqueName('pin');
  try {
    const created = await shoalOk(
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '3',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    t.notRegex(created.stderr, /could not be accessed/, 'no digest warning for the bed registry');
    const stored = await storedImage(name);
    t.true(stored.startsWith(`${IMAGE}@sha256:`), `stored image ${stored}`);
    const digest = PINNED.exec(stored)?.[1] ?? '';
    const images = await waitFor(async () => {
      const i = await containerImages(name);
      return i.length === 3 && i;
    }, CONVERGE_MS);
    for (const i of images) {
      t.is(i.config, stored, "the container's image is the pinned reference");
      t.true(i.digests.includes(`10.213.0.1:5000/shoal/busybox@${digest}`), `repo digests ${i.digests.join(',')}`);
    }
    const ps = await shoalOk('service', 'ps', name);
    t.regex(ps.stdout, new RegExp(`shoal/busybox:latest@${digest.slice(0, 19)}\\s`), 'service ps shows the digest');
  } finally {
    await removeService(name);
  }
});

test.serial('a tag moved during a scale-up: new tasks still run the pinned digest', async (t) => {
  const name = uniqueName('moving');
  const repo = `10.213.0.1:5000/shoal/${name}:latest`;
  try {
    await pushAs(IMAGE, repo);
    await shoalOk('service', 'create', '--name', name, '--replicas', '2', '--stop-grace-period', '1s', repo, ...SLEEP);
    const stored = await storedImage(name);
    const digest = PINNED.exec(stored)?.[1] ?? '';
    t.truthy(digest, `pinned: ${stored}`);
    // Another image under the same tag: a commit of a busybox container with one more label.
    const made = await dockerCli('host1', ['create', IMAGE, 'true']);
    const cid = made.stdout.trim();
    await dockerCli('host1', ['commit', '--change', 'LABEL moved=yes', cid, repo]);
    await dockerCli('host1', ['rm', cid]);
    await follow(docker('host1'), await docker('host1').getImage(repo).push({ tag: 'latest' }));
    const moved = await docker('host1').getImage(repo).inspect();
    t.false(
      (moved.RepoDigests ?? []).some((d) => d.endsWith(digest)),
      'the tag now points elsewhere',
    );

    await shoalOk('service', 'scale', `${name}=6`);
    const images = await waitFor(async () => {
      const i = await containerImages(name);
      return i.length === 6 && i;
    }, CONVERGE_MS);
    for (const i of images) t.is(i.config, stored, 'every task runs the digest pinned at create');
    t.is(await storedImage(name), stored);
  } finally {
    await removeService(name);
  }
});

test.serial('--with-registry-auth deploys from the basic-auth registry; without it the pull fails', async (t) => {
  const image = `${AUTH_REGISTRY}/shoal/private:latest`;
  await pushAs(IMAGE, image, AUTH);
  // host1 must pull like the others: drop its references to the private repository.
  const pushed = await docker('host1').getImage(image).inspect();
  for (const ref of [image, ...(pushed.RepoDigests ?? []).filter((r) => r.startsWith(AUTH_REGISTRY))])
    await dockerCli('host1', ['rmi', ref]);

  const without = uniqueName('noauth');
  const withAuth = uniqueName('auth');
  const config = mkdtempSync(path.join(tmpdir(), 'shoal-docker-config-'));
  try {
    const r = await shoalOk(
      'service',
      'create',
      '--detach',
      '--name',
      without,
      '--stop-grace-period',
      '1s',
      image,
      ...SLEEP,
    );
    t.regex(r.stderr, new RegExp(`image ${image.replace(/\./g, '\\.')} could not be accessed on a registry`));
    t.is(await storedImage(without), image, 'kept as a tag');
    const failed = await waitFor(
      async () => (await shoalJson<TaskJson>('service', 'ps', without)).find((x) => x.error !== ''),
      CONVERGE_MS,
      'a task of the service without credentials to fail',
    );
    t.regex(failed.error, /no basic auth credentials|unauthorized|authentication required/i, failed.error);

    const auth = Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64');
    writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth } } }));
    process.env.DOCKER_CONFIG = config;
    let created;
    try {
      created = await shoal(
        'service',
        'create',
        '--with-registry-auth',
        '--name',
        withAuth,
        '--replicas',
        '3',
        '--stop-grace-period',
        '1s',
        image,
        ...SLEEP,
      );
    } finally {
      delete process.env.DOCKER_CONFIG;
    }
    t.is(created.code, 0, created.stderr);
    const stored = await storedImage(withAuth);
    t.true(stored.startsWith(`${image}@sha256:`), `pinned with the credentials: ${stored}`);
    const images = await waitFor(async () => {
      const i = await containerImages(withAuth);
      return i.length === 3 && i;
    }, CONVERGE_MS);
    for (const i of images) t.is(i.config, stored);

    const inspect = await shoalOk('service', 'inspect', withAuth);
    t.false(inspect.stdout.includes(AUTH.password), 'no password in inspect');
    t.false(inspect.stdout.includes(auth), 'no auth in inspect');
    t.false(/registryAuth"\s*:\s*"[^"]/.test(inspect.stdout), 'no registry auth in inspect');
  } finally {
    rmSync(config, { recursive: true, force: true });
    await removeService(without);
    await removeService(withAuth);
  }
});
