// Containers that real applications need, on the bed, checked through the hosts' own dockerd:
// a named volume's data survives its task's container being killed and replaced on the same
// node; a tmpfs mount is a tmpfs; a read-only root, a workdir, an entrypoint, a hostname and
// labels on containers reach the engine; --user 1000:1000 runs the process as uid 1000.
import test from 'ava';
import {
  IMAGE,
  containersOf,
  docker,
  dockerCli,
  countPerHost,
  each,
  execIn,
  measured,
  removeService,
  shoal,
  shoalOk,
  tasks,
  timeUntil,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial(
  'named volume survives a killed container on host1; tmpfs, read-only root, workdir, entrypoint, hostname',
  async (t) => {
    const name = uniqueName('vol');
    const volume = `${name}-data`;
    try {
      await shoalOk(
      'service', 'create', '--name', name, '--constraint', 'node.hostname==host1', '--stop-grace-period', '1s',
      '--mount', `type=volume,source=${volume},target=/data`,
      '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=8m',
      '--read-only', '--workdir', '/data', '--hostname', 'apphost', '--entrypoint', 'sh -c',
      '--container-label', 'tier=back', '--stop-signal', 'SIGINT', '--limit-memory', '64M',
      IMAGE, 'touch /scratch/started && exec sleep 3600',
    ); // prettier-ignore
      const [first] = await waitFor(async () => {
      const cs = await containersOf(name);
      return cs.length === 1 ? cs : undefined;
    }, 30_000, `one container of ${name}`); // prettier-ignore
      t.is(first!.host, 'host1');
      const id = first!.id;
      const sh = async (cmd: string) => execIn('host1', id, ['sh', '-c', cmd]);

      // The engine's view of the options.
      const info = await docker('host1').getContainer(id).inspect();
      t.deepEqual(info.Config.Entrypoint, ['sh', '-c']);
      t.is(info.Config.WorkingDir, '/data');
      t.is(info.Config.Hostname, 'apphost');
      t.is(info.Config.Labels.tier, 'back');
      t.is((info.Config as { StopSignal?: string }).StopSignal, 'SIGINT');
      t.true(info.HostConfig.ReadonlyRootfs);
      t.is(info.HostConfig.Memory, 64 * 2 ** 20, '--limit-memory reaches the container');
      // ... and inside the container.
      t.is((await sh('test -f /scratch/started && echo yes')).stdout.trim(), 'yes', 'the entrypoint ran the command');
      t.regex((await sh('grep " /scratch " /proc/mounts')).stdout, /^tmpfs \/scratch tmpfs .*size=8192k/);
      t.is((await sh('pwd')).stdout.trim(), '/data');
      t.is((await sh('hostname')).stdout.trim(), 'apphost');
      t.not((await sh('touch /rootfs-write')).code, 0, 'the root filesystem is read-only');
      t.is((await sh('echo kept > /data/f && cat /data/f')).stdout.trim(), 'kept');

      // Kill it behind shoal's back: the replacement is a new container on host1, same volume.
      const killedAt = Date.now();
      await docker('host1').getContainer(id).kill();
      const replaced = await timeUntil(
        async () => {
          const cs = await containersOf(name);
          return cs.length === 1 && cs[0]!.id !== id ? cs[0] : undefined;
        },
        30_000,
        'a new container after the kill',
        { since: killedAt },
      );
      measured(t, 'docker kill -> replacement with its volume running', replaced.ms);
      t.is(replaced.value.host, 'host1');
      const read = await execIn('host1', replaced.value.id, ['cat', '/data/f']);
      t.is(read.stdout.trim(), 'kept', `the data survived (${read.stderr.trim()})`);
      const vols = await docker('host1').listVolumes({ filters: { name: [volume] } });
      t.is(vols.Volumes?.filter((v) => v.Name === volume).length, 1, 'one named volume, local driver');
      t.is(vols.Volumes?.[0]?.Driver, 'local');
    } finally {
      await removeService(name);
      await dockerCli('host1', ['volume', 'rm', '-f', volume]);
    }
  },
);

test.serial('--user 1000:1000 runs the process as uid 1000', async (t) => {
  const name = uniqueName('user');
  try {
    await shoalOk(
      'service', 'create', '--name', name, '--user', '1000:1000', '--stop-grace-period', '1s',
      '--cap-drop', 'ALL', IMAGE, 'sleep', '3600',
    ); // prettier-ignore
    const [c] = await waitFor(async () => {
      const cs = await containersOf(name);
      return cs.length === 1 ? cs : undefined;
    }, 30_000, `one container of ${name}`); // prettier-ignore
    const status = await execIn(c!.host, c!.id, ['cat', '/proc/1/status']);
    t.regex(status.stdout, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'PID 1 runs as uid 1000');
    t.regex(status.stdout, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m, 'and gid 1000');
    t.regex(status.stdout, /^CapBnd:\s+0+$/m, '--cap-drop ALL: no capabilities');
    t.is((await execIn(c!.host, c!.id, ['id', '-u'])).stdout.trim(), '1000');
  } finally {
    await removeService(name);
  }
});

test.serial('--placement-pref spread=node.labels.zone and --max-replicas-per-node', async (t) => {
  const spread = uniqueName('zones');
  const capped = uniqueName('capped');
  const zones: Record<string, string> = { host1: 'b', host2: 'b', host3: 'a' };
  const start = Date.now();
  const step = (what: string) => t.log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  try {
    for (const [host, zone] of Object.entries(zones))
      await shoalOk('node', 'update', '--label-add', `zone=${zone}`, host);
    step('labels set');
    // zone a (host3 alone) gets half of the tasks, zone b's two hosts a quarter each (without
    // the preference host1 would get the second task: fewest tasks, then hostname order).
    await shoalOk(
      'service', 'create', '--name', spread, '--replicas', '4', '--placement-pref', 'spread=node.labels.zone',
      '--stop-grace-period', '1s', IMAGE, 'sleep', '3600',
    ); // prettier-ignore
    t.deepEqual(await countPerHost(spread), { host1: 1, host2: 1, host3: 2 });
    step('spread service converged');

    // 4 replicas, at most 1 per node, 3 nodes: 3 run, one waits and says why.
    await shoalOk(
      'service', 'create', '--name', capped, '--replicas', '4', '--max-replicas-per-node', '1',
      '--stop-grace-period', '1s', '--detach', IMAGE, 'sleep', '3600',
    ); // prettier-ignore
    const pending = await waitFor(
      async () => (await tasks(capped)).find((row) => row.state === 'pending'),
      10_000,
      'a pending task',
    );
    t.regex(pending.error, /^no suitable node \(3 nodes: max replicas per node limit \(1\) reached\)$/);
    t.deepEqual(await waitForValue(() => countPerHost(capped), each(1), 20_000), each(1));
    step('capped service checked');
  } finally {
    await removeService(spread);
    await removeService(capped);
    step('services removed');
    for (const host of Object.keys(zones)) await shoal('node', 'update', '--label-rm', 'zone', host);
  }
});
