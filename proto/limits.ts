// Every bound on what a client may send, in one place: gRPC message sizes and the caps on a
// spec's fields. The manager enforces them on every request whatever client sent it; the
// CLI checks the same ones (proto/spec-rules.ts) before it calls. Each carries its reason.

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The largest request a manager accepts (gRPC receive on its server, send on clients): a
 * 1 MiB config plus headroom. A spec is far smaller (MAX_SPEC_BYTES).
 */
export const MAX_REQUEST_BYTES = 4 * MiB;
/**
 * The largest answer (gRPC send on the manager, receive on clients): listings of large
 * clusters and an agent's complete assignment set carry a spec copy per task, so answers
 * get a larger cap than requests. Was grpc-js's default (4 MiB receive, no send cap).
 */
export const MAX_RESPONSE_BYTES = 64 * MiB;

/** Options for a grpc-js Server that serves clients (the manager's listener). */
export const SERVER_MESSAGE_LIMITS = {
  'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
  'grpc.max_send_message_length': MAX_RESPONSE_BYTES,
} as const;

/** Options for a grpc-js client of a manager (CLI, agent, a follower forwarding to the leader). */
export const CLIENT_MESSAGE_LIMITS = {
  'grpc.max_send_message_length': MAX_REQUEST_BYTES,
  'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
} as const;

/** A bound that keeps one typo from creating millions of tasks (the placement bench runs 100,000). */
export const MAX_REPLICAS = 100_000;
/**
 * Every duration of a spec (health interval/timeout/start period, stop grace period, restart
 * delay and window): a day is beyond any sensible value, and Node's timers hold at most
 * 24.8 days (a longer one fires at once).
 */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;
/** Service and network names: one DNS label. */
export const MAX_NAME_LENGTH = 63;
/** A reference to a node, service or network (a name, an id, an id prefix, a hostname: 253 as DNS). */
export const MAX_REF_LENGTH = 253;
/** An image reference: docker's name (255) + tag (128) + digest (71), with room. */
export const MAX_IMAGE_BYTES = 1 * KiB;
/** Command (with its arguments) and health-check test: count of entries and total bytes. */
export const MAX_COMMAND_ARGS = 1_024;
export const MAX_COMMAND_BYTES = 64 * KiB;
/** Environment: entries, and bytes of one `KEY=VALUE`. */
export const MAX_ENV = 1_024;
export const MAX_ENV_BYTES = 32 * KiB;
/** Labels (service, network, node): count, key and value sizes. */
export const MAX_LABELS = 256;
export const MAX_LABEL_KEY_BYTES = 256;
export const MAX_LABEL_VALUE_BYTES = 4 * KiB;
export const MAX_CONSTRAINTS = 64;
export const MAX_CONSTRAINT_BYTES = 1 * KiB;
export const MAX_PORTS = 256;
export const MAX_NETWORKS = 16;
/** Secret and config references of one service. */
export const MAX_FILE_REFS = 64;
/** Restart attempts and health retries: any larger number means "unlimited" anyway. */
export const MAX_ATTEMPTS = 1_000_000;
/** Resources: 4,096 CPUs and 1 PiB of memory are beyond any host. */
export const MAX_NANO_CPUS = 4_096 * 1e9;
export const MAX_MEMORY_BYTES = 2 ** 50;
/**
 * A whole spec, encoded as stored (JSON). Every task holds a copy, and the store writer
 * commits a transaction of at most 1 MiB (etcd refuses requests over 1.5 MiB by default).
 */
export const MAX_SPEC_BYTES = 128 * KiB;
/**
 * What one service may occupy in the store, its tasks included (spec size x tasks): etcd's
 * default quota is 2 GiB, and old revisions count until compaction.
 */
export const MAX_SERVICE_STORED_BYTES = 256 * MiB;
/** What a task adds to its spec copy when stored (ids, status, addresses), for that estimate. */
export const TASK_OVERHEAD_BYTES = 1 * KiB;
