// Validation of the Control API's other requests (node update, networks, references, task
// listings, events), before any lookup or write: enums in range, references of sane
// length, labels bounded, network names DNS labels and subnets clear of reserved blocks and
// of the hosts' own addresses. The rules are proto/'s, shared with the CLI.
import type { EventsRequest, ListTasksRequest, NetworkSpec, Node, UpdateNodeRequest } from '../../proto/gen/shoal.js';
import { Availability } from '../../proto/gen/shoal.js';
import { CidrError, contains, formatCidr, parseIpv4, parseNetworkSubnet } from '../../proto/cidr.js';
import { MAX_LABELS, MAX_REF_LENGTH } from '../../proto/limits.js';
import { quote } from '../../proto/quote.js';
import {
  EVENT_TYPES,
  checkLabels,
  checkLength,
  checkRef,
  checkResourceName,
  checkText,
} from '../../proto/spec-rules.js';
import { invalidArgument } from '../errors.js';
import { asInvalid } from './validate.js';

export type RefKind = 'node' | 'service' | 'network';

/** A reference (name, id, id prefix, hostname): given, at most 253 characters, no spaces. */
export function validateRef(ref: string, what: RefKind): void {
  asInvalid(() => checkRef(ref, what));
}

export function validateUpdateNode(req: UpdateNodeRequest): void {
  validateRef(req.ref, 'node');
  if (
    req.availability !== undefined &&
    req.availability !== Availability.ACTIVE &&
    req.availability !== Availability.PAUSE &&
    req.availability !== Availability.DRAIN
  )
    throw invalidArgument(`invalid --availability ${req.availability}: expected active, pause or drain`);
  asInvalid(() => checkLabels(req.labelAdd, '--label-add'));
  asInvalid(() => checkLength(req.labelRm.length, MAX_LABELS, '--label-rm values'));
  for (const k of req.labelRm) {
    if (k === '') throw invalidArgument('invalid --label-rm: the key must not be empty');
    asInvalid(() => checkText(k, MAX_REF_LENGTH, '--label-rm'));
  }
}

/**
 * The underlay addresses a network's subnet must not contain: every node's address (as the
 * manager saw it connect) and the managers' (host part of their gRPC address).
 */
export function hostAddresses(nodes: Iterable<Node>, managerAddresses: string[] = []): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const n of nodes) {
    const a = n.description?.address ?? '';
    if (a !== '') out.push([a, `node ${n.description?.hostname || n.id}`]);
  }
  for (const m of managerAddresses) {
    const host = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(m)?.[1];
    if (host !== undefined) out.push([host, `manager ${m}`]);
  }
  return out;
}

/**
 * A network spec: name a DNS label, labels bounded, subnet (if given) a /8../24 clear of
 * loopback, link-local, multicast, reserved, 0.0.0.0/8 and every host address in `hosts`.
 * Returns the spec with its subnet normalised.
 */
export function validateNetworkSpec(spec: NetworkSpec | undefined, hosts: Array<[string, string]>): NetworkSpec {
  if (!spec) throw invalidArgument('network spec is missing');
  asInvalid(() => checkResourceName('network name', spec.name));
  asInvalid(() => checkLabels(spec.labels, '--label'));
  if (spec.subnet === '') return spec;
  if (spec.subnet.length > 64) throw invalidArgument(`invalid --subnet ${quote(spec.subnet)}: expected an IPv4 CIDR`);
  let subnet;
  try {
    subnet = parseNetworkSubnet(spec.subnet, '--subnet');
  } catch (err) {
    if (err instanceof CidrError) throw invalidArgument(err.message, { cause: err });
    throw err;
  }
  for (const [address, who] of hosts) {
    const ip = parseIpv4(address);
    if (ip !== undefined && contains(subnet, ip))
      throw invalidArgument(
        `invalid --subnet "${spec.subnet}": it contains ${address}, the address of ${who} (the hosts' own network)`,
      );
  }
  return { ...spec, subnet: formatCidr(subnet) };
}

export function validateListTasks(req: ListTasksRequest): void {
  if (req.service !== '') validateRef(req.service, 'service');
  if (req.node !== '') validateRef(req.node, 'node');
}

export function validateEvents(req: EventsRequest): void {
  asInvalid(() => checkLength(req.types.length, EVENT_TYPES.length, 'event types'));
  for (const t of req.types)
    if (!(EVENT_TYPES as readonly string[]).includes(t))
      throw invalidArgument(`invalid event type ${quote(t)}: expected ${EVENT_TYPES.join(', ')}`);
  if (req.name !== '') asInvalid(() => checkRef(req.name, 'service'));
}
