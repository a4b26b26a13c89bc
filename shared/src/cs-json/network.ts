// Strict CIDR parsing. The values end up in security groups, pg_hba.conf and shell scripts, so
// only the canonical textual forms are accepted: no whitespace, no leading zeros, no host bits.
// Pure string work so the same check runs in the browser.

export type CidrCheck = { ok: true; family: 4 | 6 } | { ok: false; reason: string };

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/;

export function checkCidr(text: string): CidrCheck {
  const parts = text.split('/');
  if (parts.length !== 2) return { ok: false, reason: 'must be in CIDR notation, e.g. 203.0.113.0/24 or 203.0.113.7/32' };
  const [address = '', prefixText = ''] = parts;
  if (!/^(?:0|[1-9]\d{0,2})$/.test(prefixText)) return { ok: false, reason: 'prefix length must be a number' };
  const prefix = Number(prefixText);
  if (address.includes(':')) return checkIpv6(address, prefix);
  return checkIpv4(address, prefix);
}

function checkIpv4(address: string, prefix: number): CidrCheck {
  const octets = address.split('.');
  if (octets.length !== 4 || !octets.every((octet) => IPV4_OCTET.test(octet) && Number(octet) <= 255)) {
    return { ok: false, reason: 'is not a valid IPv4 address' };
  }
  if (prefix > 32) return { ok: false, reason: 'IPv4 prefix length must be 0 to 32' };
  const value = octets.reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const hostBits = 32 - prefix;
  if (value % 2 ** hostBits !== 0) {
    const network = Math.floor(value / 2 ** hostBits) * 2 ** hostBits;
    return { ok: false, reason: `has host bits set; did you mean ${ipv4ToText(network)}/${prefix}?` };
  }
  return { ok: true, family: 4 };
}

function ipv4ToText(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function checkIpv6(address: string, prefix: number): CidrCheck {
  if (prefix > 128) return { ok: false, reason: 'IPv6 prefix length must be 0 to 128' };
  if (address !== address.toLowerCase()) return { ok: false, reason: 'IPv6 addresses must be written in lower case' };
  const halves = address.split('::');
  if (halves.length > 2) return { ok: false, reason: 'is not a valid IPv6 address' };
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...tail];
  if (!groups.every((group) => IPV6_GROUP.test(group))) return { ok: false, reason: 'is not a valid IPv6 address' };
  const missing = 8 - groups.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return { ok: false, reason: 'is not a valid IPv6 address' };
  const full = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const bits = full.map((group) => parseInt(group, 16).toString(2).padStart(16, '0')).join('');
  if (bits.slice(prefix).includes('1')) return { ok: false, reason: 'has host bits set for its prefix length' };
  return { ok: true, family: 6 };
}
