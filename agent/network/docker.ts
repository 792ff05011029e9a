// The Docker side of a network on this host: a bridge network `shoal-<name>` with this
// host's lease as its subnet (gateway .1), the overlay MTU and a short bridge name.
import type Docker from 'dockerode';
import { NET_LABEL, type LocalNetwork } from './plan.js';

export const OPT = {
  bridgeName: 'com.docker.network.bridge.name',
  mtu: 'com.docker.network.driver.mtu',
  gatewayMode: 'com.docker.network.bridge.gateway_mode_ipv4',
} as const;

/** A Docker network the agent made (it carries NET_LABEL.id). */
export interface DockerNetwork {
  name: string;
  /** The shoal network id it was made for. */
  networkId: string;
  subnet: string;
  gateway: string;
  options: Record<string, string>;
}

export interface DockerNetworks {
  list(): Promise<DockerNetwork[]>;
  create(
    name: string,
    labels: Record<string, string>,
    subnet: string,
    gateway: string,
    options: Record<string, string>,
  ): Promise<void>;
  remove(name: string): Promise<void>;
  /** The engine's major version (28 and later need the gateway mode option). */
  engineMajor(): Promise<number>;
}

/** What the Docker network of `net` must look like. */
export function wantedOptions(net: LocalNetwork, mtu: number, engineMajor: number): Record<string, string> {
  return {
    [OPT.bridgeName]: net.bridge,
    [OPT.mtu]: String(mtu),
    ...(engineMajor >= 28 ? { [OPT.gatewayMode]: 'nat-unprotected' } : {}),
  };
}

export function matches(have: DockerNetwork, net: LocalNetwork, options: Record<string, string>): boolean {
  return (
    have.networkId === net.id &&
    have.subnet === net.subnet &&
    have.gateway === net.gateway &&
    Object.entries(options).every(([k, v]) => have.options[k] === v)
  );
}

export class DockerodeNetworks implements DockerNetworks {
  private major: number | undefined;

  constructor(private readonly docker: Docker) {}

  async list(): Promise<DockerNetwork[]> {
    const list = await this.docker.listNetworks({ filters: { label: [NET_LABEL.id] } });
    return list.map((n) => {
      const cfg = n.IPAM?.Config?.[0];
      return {
        name: n.Name,
        networkId: n.Labels?.[NET_LABEL.id] ?? '',
        subnet: cfg?.Subnet ?? '',
        gateway: cfg?.Gateway ?? '',
        options: n.Options ?? {},
      };
    });
  }

  async create(
    name: string,
    labels: Record<string, string>,
    subnet: string,
    gateway: string,
    options: Record<string, string>,
  ): Promise<void> {
    await this.docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gateway }] },
      Options: options,
      Labels: labels,
    });
  }

  async remove(name: string): Promise<void> {
    await this.docker.getNetwork(name).remove();
  }

  async engineMajor(): Promise<number> {
    if (this.major === undefined) {
      const v = (await this.docker.version()) as { Version?: string };
      this.major = Number.parseInt(v.Version ?? '0', 10) || 0;
    }
    return this.major;
  }
}
