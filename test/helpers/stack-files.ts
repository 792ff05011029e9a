// The compose files of test/e2e/apps/stack.test.ts, written to a temporary folder: a stack
// of 5 services on 2 networks (+ the default one), a named volume, a published port, a
// placement constraint, interpolated values, update_config and restart_policy; and an
// override file that changes one service's environment (a spec change rolls that service).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface StackFiles {
  dir: string;
  base: string;
  /** `-c base -c override`: web gets VERSION=2. */
  override: string;
}

export function writeStackFiles(image: string, webPort: number): StackFiles {
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-stack-'));
  const base = path.join(dir, 'stack.yml');
  const override = path.join(dir, 'override.yml');
  writeFileSync(
    base,
    `version: "3.8"
services:
  web:
    image: \${STACK_IMAGE}
    command: httpd -f -p 80
    build: ./web            # ignored by Swarm, with a warning
    ports:
      - "\${WEB_PORT:-${webPort}}:80"
    networks: [front]
    stop_grace_period: 1s
    environment:
      VERSION: "1"
    deploy:
      replicas: 2
      update_config: { parallelism: 1, delay: 0s, monitor: 1s, order: start-first }
      restart_policy: { condition: any, delay: 1s }
  api:
    image: \${STACK_IMAGE}
    command: ["sleep", "3600"]
    networks: [front, back]
    stop_grace_period: 1s
    environment:
      - GREETING=\${GREETING:?set GREETING}
      - PRICE=$$5
    deploy:
      placement:
        constraints: [node.hostname == host2]
  db:
    image: \${STACK_IMAGE}
    command: sleep 3600
    stop_grace_period: 1s
    networks:
      back:
        aliases: [database]
    volumes:
      - data:/data
  worker:
    image: \${STACK_IMAGE}
    command: sleep 3600
    stop_grace_period: 1s
    deploy:
      replicas: 3
      placement: { max_replicas_per_node: 1 }
  cache:
    image: \${STACK_IMAGE}
    command: sleep 3600
    stop_grace_period: 1s
    networks: [back]
    deploy:
      mode: global
networks:
  front: {}
  back:
    driver: overlay
volumes:
  data:
    labels: { purpose: test }
`,
  );
  writeFileSync(
    override,
    `version: "3.8"
services:
  web:
    environment:
      VERSION: "2"
`,
  );
  return { dir, base, override };
}
