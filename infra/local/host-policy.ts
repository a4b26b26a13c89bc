import { BlockList, isIP } from 'node:net';

// The local cloud serves this machine only. Its emulators accept its own credentials on loopback,
// and the PostgreSQL servers it runs, their passwords and their backups are one token away from
// its API: a HOST reachable from the network would hand all of that to anyone who can reach it.
// Binding elsewhere takes a deliberate acknowledgement.

export const ALLOW_REMOTE_VARIABLE = 'CLOUDSEED_ALLOW_REMOTE';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether `host` is certainly a loopback address. Names other than localhost are not: they resolve elsewhere. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why the local cloud must not listen on `host`, or undefined when it may. */
export function remoteHostRefusal(host: string, env: NodeJS.ProcessEnv): string | undefined {
  if (isLoopback(host) || env[ALLOW_REMOTE_VARIABLE] === '1') return undefined;
  return (
    `HOST=${host} is not a loopback address, so the local cloud would be reachable from the network. ` +
    'It is meant for this machine only: its emulators, the PostgreSQL servers it runs, their passwords, ' +
    'tokens and backups would be exposed to anyone who can reach this address. ' +
    `Use 127.0.0.1 (the default), ::1 or localhost; to listen on ${host} anyway, set ${ALLOW_REMOTE_VARIABLE}=1.`
  );
}
