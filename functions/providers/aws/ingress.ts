import type { IpPermission } from '@aws-sdk/client-ec2';
import type { AwsComponent } from '@cloudseed/shared';
import { PermanentError } from '../errors.ts';

// The security group's ingress is made exactly what the plan renders, so a re-deploy with other
// CIDRs converges: rules are compared one source at a time (one CIDR or one group per rule) and
// only the difference is authorised or revoked. Descriptions are not compared.

export const REPLICATION_RULE_DESCRIPTION = 'PostgreSQL replication between the component nodes';
export const ETCD_RULE_DESCRIPTION = 'etcd between the cluster nodes (the Patroni leader lock)';
export const PATRONI_RULE_DESCRIPTION = 'Patroni REST API between the cluster nodes';
export const ENDPOINT_RULE_DESCRIPTION = 'PostgreSQL and the Patroni /primary health check from the cluster load balancer';
/** Rules that admit an app of the plan start with this, then name the app; the app's deploy owns them. */
export const APP_RULE_PREFIX = 'PostgreSQL from app';

/** The permissions without the group rules the plan's apps own. */
export function withoutAppRules(permissions: readonly IpPermission[]): IpPermission[] {
  return permissions.flatMap((permission) => {
    const pairs = permission.UserIdGroupPairs?.filter((pair) => !pair.Description?.startsWith(APP_RULE_PREFIX));
    if (pairs === undefined || pairs.length === permission.UserIdGroupPairs?.length) return [permission];
    const rest = { ...permission, UserIdGroupPairs: pairs };
    const empty = pairs.length === 0 && !rest.IpRanges?.length && !rest.Ipv6Ranges?.length && !rest.PrefixListIds?.length;
    return empty ? [] : [rest];
  });
}

type Source =
  | { readonly kind: 'ipv4'; readonly cidr: string }
  | { readonly kind: 'ipv6'; readonly cidr: string }
  | { readonly kind: 'group'; readonly groupId: string }
  | { readonly kind: 'prefix-list'; readonly id: string };

interface Rule {
  readonly protocol: string;
  readonly fromPort: number | undefined;
  readonly toPort: number | undefined;
  readonly source: Source;
  readonly description: string | undefined;
}

export interface IngressChanges {
  readonly authorize: IpPermission[];
  readonly revoke: IpPermission[];
}

/**
 * The rules the plan asks for: its `IpPermissions`, checked to open only PostgreSQL's port over
 * TCP to CIDRs, plus, for clusters, the port from the group itself so replicas reach the primary,
 * and for a Patroni cluster etcd's ports and Patroni's REST API from the group itself, never from
 * the plan's networks, and PostgreSQL and Patroni's REST API (its `/primary` health check) from
 * the cluster's load balancer group `endpointGroupId`.
 */
export function desiredIngress(component: AwsComponent, groupId: string | undefined, endpointGroupId?: string): IpPermission[] {
  const port = component.postgres.port;
  const permissions = plannedRules(component.securityGroup.IpPermissions, port);
  const fromGroup = (from: number, to: number, source: string, description: string): IpPermission => ({
    IpProtocol: 'tcp',
    FromPort: from,
    ToPort: to,
    UserIdGroupPairs: [{ GroupId: source, Description: description }],
  });
  if (component.securityGroup.replicationBetweenNodes && groupId !== undefined) {
    permissions.push(fromGroup(port, port, groupId, REPLICATION_RULE_DESCRIPTION));
  }
  const patroni = component.patroni;
  if (patroni !== undefined && groupId !== undefined) {
    permissions.push(
      fromGroup(
        Math.min(patroni.etcdClientPort, patroni.etcdPeerPort),
        Math.max(patroni.etcdClientPort, patroni.etcdPeerPort),
        groupId,
        ETCD_RULE_DESCRIPTION,
      ),
      fromGroup(patroni.restPort, patroni.restPort, groupId, PATRONI_RULE_DESCRIPTION),
    );
    if (endpointGroupId !== undefined) {
      permissions.push(
        fromGroup(port, port, endpointGroupId, ENDPOINT_RULE_DESCRIPTION),
        fromGroup(patroni.restPort, patroni.restPort, endpointGroupId, ENDPOINT_RULE_DESCRIPTION),
      );
    }
  }
  return permissions;
}

/** The load balancer's group: the plan's networks to PostgreSQL's port, checked as the nodes' own are. */
export function endpointIngress(component: AwsComponent): IpPermission[] {
  return component.endpoint ? plannedRules(component.endpoint.securityGroup.IpPermissions, component.endpoint.port) : [];
}

function plannedRules(rules: readonly unknown[], port: number): IpPermission[] {
  return rules.map((permission, index) => checkedPermission(permission, index, port));
}

export function ingressChanges(current: readonly IpPermission[], desired: readonly IpPermission[]): IngressChanges {
  const have = new Map(current.flatMap(rulesOf).map((rule) => [keyOf(rule), rule]));
  const want = new Map(desired.flatMap(rulesOf).map((rule) => [keyOf(rule), rule]));
  return {
    authorize: permissionsOf(
      [...want].filter(([key]) => !have.has(key)).map(([, rule]) => rule),
      true,
    ),
    revoke: permissionsOf(
      [...have].filter(([key]) => !want.has(key)).map(([, rule]) => rule),
      false,
    ),
  };
}

function checkedPermission(value: unknown, index: number, port: number): IpPermission {
  const where = `securityGroup.IpPermissions[${index}]`;
  if (typeof value !== 'object' || value === null) throw new PermanentError(`${where} is not a rule`);
  const { IpProtocol, FromPort, ToPort, IpRanges = [], Ipv6Ranges = [], ...rest } = value as Record<string, unknown>;
  if (IpProtocol !== 'tcp' || FromPort !== port || ToPort !== port) {
    throw new PermanentError(`${where} must open tcp ${port} only, not ${String(IpProtocol)} ${String(FromPort)}-${String(ToPort)}`);
  }
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new PermanentError(`${where} may only name CIDRs, not ${extra.join(', ')}`);
  if (!Array.isArray(IpRanges) || !Array.isArray(Ipv6Ranges)) throw new PermanentError(`${where} ranges must be lists`);
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    IpRanges: IpRanges.map((range: unknown) => {
      const { CidrIp, Description } = (range ?? {}) as Record<string, unknown>;
      if (typeof CidrIp !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(CidrIp))
        throw new PermanentError(`${where} has an IPv4 range that is not a CIDR`);
      return typeof Description === 'string' ? { CidrIp, Description } : { CidrIp };
    }),
    Ipv6Ranges: Ipv6Ranges.map((range: unknown) => {
      const { CidrIpv6, Description } = (range ?? {}) as Record<string, unknown>;
      if (typeof CidrIpv6 !== 'string' || !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(CidrIpv6))
        throw new PermanentError(`${where} has an IPv6 range that is not a CIDR`);
      return typeof Description === 'string' ? { CidrIpv6, Description } : { CidrIpv6 };
    }),
  };
}

function rulesOf(permission: IpPermission): Rule[] {
  const base = { protocol: permission.IpProtocol ?? '-1', fromPort: permission.FromPort, toPort: permission.ToPort };
  return [
    ...(permission.IpRanges ?? []).flatMap((range) =>
      range.CidrIp ? [{ ...base, source: { kind: 'ipv4', cidr: range.CidrIp } as const, description: range.Description }] : [],
    ),
    ...(permission.Ipv6Ranges ?? []).flatMap((range) =>
      range.CidrIpv6 ? [{ ...base, source: { kind: 'ipv6', cidr: range.CidrIpv6 } as const, description: range.Description }] : [],
    ),
    ...(permission.UserIdGroupPairs ?? []).flatMap((pair) =>
      pair.GroupId ? [{ ...base, source: { kind: 'group', groupId: pair.GroupId } as const, description: pair.Description }] : [],
    ),
    ...(permission.PrefixListIds ?? []).flatMap((list) =>
      list.PrefixListId ? [{ ...base, source: { kind: 'prefix-list', id: list.PrefixListId } as const, description: list.Description }] : [],
    ),
  ];
}

function keyOf(rule: Rule): string {
  // EC2 reports "all ports" as -1 or leaves the ports out, depending on the protocol.
  const ports = rule.protocol === '-1' ? 'all' : `${rule.fromPort ?? -1}-${rule.toPort ?? -1}`;
  const source =
    rule.source.kind === 'group' ? rule.source.groupId : rule.source.kind === 'prefix-list' ? rule.source.id : rule.source.cidr.toLowerCase();
  return `${rule.protocol.toLowerCase()}|${ports}|${rule.source.kind}|${source}`;
}

/** Groups rules back into one permission per protocol and port range, in first-seen order. */
function permissionsOf(rules: readonly Rule[], withDescriptions: boolean): IpPermission[] {
  const byPorts = new Map<string, Rule[]>();
  for (const rule of rules) {
    const key = `${rule.protocol}|${rule.fromPort}|${rule.toPort}`;
    byPorts.set(key, [...(byPorts.get(key) ?? []), rule]);
  }
  return [...byPorts.values()].map((group) => {
    const first = group[0]!;
    const described = (description: string | undefined) => (withDescriptions && description !== undefined ? { Description: description } : {});
    const permission: IpPermission = { IpProtocol: first.protocol };
    if (first.fromPort !== undefined) permission.FromPort = first.fromPort;
    if (first.toPort !== undefined) permission.ToPort = first.toPort;
    const ipv4 = group.flatMap((rule) => (rule.source.kind === 'ipv4' ? [{ CidrIp: rule.source.cidr, ...described(rule.description) }] : []));
    const ipv6 = group.flatMap((rule) => (rule.source.kind === 'ipv6' ? [{ CidrIpv6: rule.source.cidr, ...described(rule.description) }] : []));
    const groups = group.flatMap((rule) => (rule.source.kind === 'group' ? [{ GroupId: rule.source.groupId, ...described(rule.description) }] : []));
    const prefixLists = group.flatMap((rule) =>
      rule.source.kind === 'prefix-list' ? [{ PrefixListId: rule.source.id, ...described(rule.description) }] : [],
    );
    if (ipv4.length > 0) permission.IpRanges = ipv4;
    if (ipv6.length > 0) permission.Ipv6Ranges = ipv6;
    if (groups.length > 0) permission.UserIdGroupPairs = groups;
    if (prefixLists.length > 0) permission.PrefixListIds = prefixLists;
    return permission;
  });
}
