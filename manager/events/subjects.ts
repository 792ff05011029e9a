// Every NATS subject shoal publishes is built here (documented in manager/README.md).
export const SUBJECT_ROOT = 'shoal.events';

/** Subject names may not hold '.', ' ', '*' or '>' inside a token. */
function token(s: string): string {
  return s.replace(/[.\s*>]/g, '_') || '_';
}

export const subjects = {
  task: (serviceName: string) => `${SUBJECT_ROOT}.task.${token(serviceName)}`,
  node: (hostname: string) => `${SUBJECT_ROOT}.node.${token(hostname)}`,
  service: (serviceName: string) => `${SUBJECT_ROOT}.service.${token(serviceName)}`,
  health: (serviceName: string) => `${SUBJECT_ROOT}.health.${token(serviceName)}`,
  endpoint: (serviceName: string) => `${SUBJECT_ROOT}.endpoint.${token(serviceName)}`,
  all: `${SUBJECT_ROOT}.>`,
};
