// A second image for update tests: the bed's busybox with a label, built offline on host1's
// dockerd (`docker build` of `FROM <IMAGE>` given on stdin) and pushed to the bed's registry,
// once per bed (a marker file in the bed's state says it is there).
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { IMAGE } from './bed.js';

const REGISTRY = '10.213.0.1:5000';
const HOST1_SOCKET = 'unix:///run/shoal-bed/host1/docker.sock';

function docker(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'docker',
      ['-H', HOST1_SOCKET, ...args],
      // The classic builder: no BuildKit frontend image to fetch (the bed is offline).
      { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`docker ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve(stdout),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/**
 * `${REGISTRY}/shoal/busybox:<tag>`: the bed's busybox with label `shoal.variant=<tag>`, in the
 * bed registry (built and pushed on the first call of a bed's life).
 */
export async function variantImage(tag: string): Promise<string> {
  const ref = `${REGISTRY}/shoal/busybox:${tag}`;
  const marker = `/run/shoal-bed/image-${tag}`;
  if (existsSync(marker)) return ref;
  await docker(['pull', IMAGE]);
  await docker(['build', '-q', '-t', ref, '-'], `FROM ${IMAGE}\nLABEL shoal.variant=${tag}\n`);
  await docker(['push', ref]);
  try {
    writeFileSync(marker, `${ref}\n`);
  } catch {
    // not writable: build again next time (cheap, cached)
  }
  return ref;
}
