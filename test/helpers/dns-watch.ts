// DNS as a container on the bed sees it: one busybox nslookup, or a query loop inside a
// container that timestamps each answer with the container's own clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execIn, type Container } from './bed.js';

const BED_RUN = '/run/shoal-bed';

export interface Answer {
  at: number; // ms since the epoch, taken inside the container right after nslookup returned
  ips: string[]; // A records, in the order given
  nxdomain: boolean;
  raw: string;
}

/** busybox nslookup's output -> the A records (the server's own "Address:\t..:53" line has a
 * port and a tab, the answers "Address: IP"). */
export function parseNslookup(out: string): { ips: string[]; nxdomain: boolean } {
  const ips: string[] = [];
  for (const line of out.split(/[\n|]/)) {
    const m = /^Address: (\d+\.\d+\.\d+\.\d+)$/.exec(line.trim());
    if (m) ips.push(m[1]!);
  }
  return { ips, nxdomain: /NXDOMAIN/.test(out) };
}

/** One `nslookup [-type=a] NAME` inside a container. */
export async function nslookup(c: Container, name: string, type = 'a') {
  const r = await execIn(c.host, c.id, ['nslookup', `-type=${type}`, '-timeout=2', '-retry=1', name], 15_000);
  const out = r.stdout + r.stderr;
  return { code: r.code, out, ...parseNslookup(out) };
}

/**
 * A query loop inside a container: `nslookup -type=a NAME` about every 20 ms, one line per
 * answer with the container's clock (busybox `date` has no %N; `adjtimex` gives µs). Stopped
 * through a file (killing the docker CLI would leave the loop running in the container) and
 * by a 180 s `timeout` in any case.
 */
export class DnsWatch {
  readonly answers: Answer[] = [];
  readonly #stopFile = `/tmp/dnswatch-${Math.random().toString(36).slice(2)}`;
  #child: ChildProcess | undefined;
  #listeners = new Set<() => void>();

  constructor(
    readonly c: Container,
    readonly name: string,
  ) {}

  start(): this {
    const loop =
      `while [ ! -e ${this.#stopFile} ]; do ` +
      `o=$(nslookup -type=a -timeout=1 -retry=1 ${this.name} 2>&1 | tr '\\n' '|'); ` +
      `t=$(adjtimex | sed -n 's/^ *time.tv_sec: *//p;s/^ *time.tv_usec: *//p' | tr '\\n' ' '); ` +
      `echo "$t$o"; usleep 20000; done`;
    const child = spawn(
      'docker',
      ['-H', `unix://${BED_RUN}/${this.c.host}/docker.sock`, 'exec', this.c.id, 'timeout', '180', 'sh', '-c', loop],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^(\d+) (\d+) (.*)$/.exec(line);
      if (!m) return;
      const at = Number(m[1]) * 1000 + Number(m[2]) / 1000;
      this.answers.push({ at, raw: m[3]!, ...parseNslookup(m[3]!) });
      for (const l of this.#listeners) l();
    });
    return this;
  }

  /** The first answer taken after `since` that satisfies `pred` (waits for it). */
  async first(pred: (a: Answer) => boolean, since: number, timeoutMs: number, what: string): Promise<Answer> {
    const find = () => this.answers.find((a) => a.at >= since && pred(a));
    const hit = find();
    if (hit) return hit;
    return new Promise((resolve, reject) => {
      const done = () => {
        const a = find();
        if (!a) return;
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve(a);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(done);
        const last = this.answers.at(-1);
        reject(
          new Error(
            `${this.c.host}: no answer for ${this.name} with ${what} within ${timeoutMs} ms (${this.answers.length} answers; last: ${last ? JSON.stringify(last.ips) : 'none'} ${last?.raw.slice(0, 200) ?? ''})`,
          ),
        );
      }, timeoutMs);
      this.#listeners.add(done);
    });
  }

  async stop(): Promise<void> {
    await execIn(this.c.host, this.c.id, ['touch', this.#stopFile], 10_000);
    const child = this.#child;
    if (child && child.exitCode === null) {
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
}
