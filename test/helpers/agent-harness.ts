// An Agent (agent/agent.ts) against FakeDispatchers on 127.0.0.1, for agent.test.ts and
// agent-ha.test.ts: the agent records its pauses (Agent.onBackoff) and its log, so a test
// asserts which delay it chose and what it did, not how long the machine took.
import type { ExecutionContext } from 'ava';
import { TaskState } from '../../proto/gen/shoal.js';
import { Agent, type AgentOptions, type BackoffEvent } from '../../agent/agent.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { FakeExecutor } from './fake-executor.js';

export interface TestAgent {
  agent: Agent;
  /** Every pause the agent took, in order. */
  backoffs: BackoffEvent[];
  /** Its log lines. */
  lines: string[];
}

/** An agent with short backoffs (20..200 ms) unless `extra` says otherwise; closed after the test. */
export function newAgent(
  t: ExecutionContext,
  managers: string[],
  fx = new FakeExecutor(),
  extra: Partial<AgentOptions> = {},
): TestAgent {
  const lines: string[] = [];
  const agent = new Agent({
    managers,
    joinToken: 'SWMTKN-test',
    hostname: 'host1',
    labels: { zone: 'a' },
    executor: fx,
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    retryMinMs: 5,
    log: (l) => lines.push(l),
    ...extra,
  });
  const backoffs: BackoffEvent[] = [];
  agent.onBackoff((e) => backoffs.push(e));
  t.teardown(() => agent.close());
  return { agent, backoffs, lines };
}

/** An agent with the real reconnect timing (backoff 100 ms..1 s, connect timeout 1 s). */
export function realTimedAgent(
  t: ExecutionContext,
  managers: string[],
  fx = new FakeExecutor(),
  extra: Partial<AgentOptions> = {},
): TestAgent {
  return newAgent(t, managers, fx, { backoffBaseMs: undefined, backoffMaxMs: undefined, ...extra });
}

/** A started FakeDispatcher, stopped when the test ends (also when it fails). */
export async function dispatcher(t: ExecutionContext, port = 0, nodeIdForNew?: () => string): Promise<FakeDispatcher> {
  const d = new FakeDispatcher(nodeIdForNew);
  await d.start(port);
  t.teardown(() => d.stop());
  return d;
}

/** Three managers: the first leads, the others are followers. */
export async function cluster(t: ExecutionContext): Promise<readonly [FakeDispatcher, FakeDispatcher, FakeDispatcher]> {
  const managers = [
    await dispatcher(t),
    await dispatcher(t, 0, () => 'unused'),
    await dispatcher(t, 0, () => 'unused'),
  ] as const;
  managers[1].leader = false;
  managers[2].leader = false;
  return managers;
}

/** The states the dispatcher received for a task, in order. */
export function statesSent(d: FakeDispatcher, taskId: string): TaskState[] {
  return d.updates.filter((u) => u.taskId === taskId).map((u) => u.status?.state ?? TaskState.NEW);
}
