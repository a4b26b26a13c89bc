import { readdirSync, readFileSync } from 'node:fs';

// Shell scripts that run as root on a node: install, configure, backup, restore and the rest are
// real bash files in sh/ (shellchecked by `npm run lint`), the same files on every cloud. Each is
// sent as: a header that assigns every value from the plan once, single-quoted; the cloud's
// prelude (sh/prelude-<cloud>.sh), which defines what a script asks of its cloud; then the files
// verbatim, which only expand those variables in double quotes.
//
// Every prelude defines the same functions, and nothing else runs in it:
//   read_secret NAME           prints the secret NAME (a path like /cloudseed/<plan>/<component>/password;
//                              clouds whose stores take no '/' name it with '-' instead, no leading one)
//   object_url KEY             the address of object KEY in $BUCKET, for the other object_* functions
//   object_put URL TYPE [...]  stores standard input as URL, encrypted at rest (options for one cloud's
//                              upload may follow; the others ignore them)
//   object_get URL             streams the object to standard output
//   object_remove URL          removes it
//   report_status JSON         hands the script's result to the provider
//   private_ipv4               the node's private IPv4 address
//   public_ipv4                its public IPv4 address, or nothing
//   instance_name              the name the provider knows the node by (the EC2 instance id, the
//                              Compute Engine instance's name, the Azure VM's name)
//   node_host_names            the DNS names the node answers to, one a line (maybe none)
//   archive_bucket             the bucket (or storage account/container) pgBackRest archives to
//   network_ranges             the IPv4 ranges of the node's private network, one a line
//   data_disk                  the block device of the node's data disk, or nothing where the data
//                              lives on the root volume (AWS)
//   install_cloud_tools        installs what the prelude itself calls (the aws CLI on AWS; curl and
//                              python3, which every image has, elsewhere)
//
// The files are read once, when this module loads, from sh/ beside it: beside the source when Node
// runs it, beside the bundle in a Lambda function (infra/lib/function.ts copies the folder there).

/** The clouds a node script can run on: each has its prelude. */
export type ScriptCloud = 'aws' | 'gcp' | 'azure';

/** The folder of the node scripts; a Lambda bundle carries it beside its entry file, under the same name. */
export const SCRIPT_FOLDER = new URL('./sh/', import.meta.url);
const SCRIPT_FILES: ReadonlyMap<string, string> = new Map(
  readdirSync(SCRIPT_FOLDER)
    .filter((name) => name.endsWith('.sh'))
    .map((name) => [name, readFileSync(new URL(name, SCRIPT_FOLDER), 'utf8')]),
);

export function scriptFile(name: string): string {
  const text = SCRIPT_FILES.get(name);
  if (text === undefined) throw new Error(`no node script ${name} in ${SCRIPT_FOLDER.pathname}`);
  return text;
}

/**
 * A secret's name in a store that takes no '/' (Secret Manager, Key Vault): the path without its
 * leading '/', with '-' for every other one. The preludes of GCP and Azure name it the same way.
 */
export function secretIdFor(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '-');
}

/** Single-quotes a value for bash; the only character that needs care inside '…' is ' itself. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** What a header assigns: a string, or an array of strings. */
export type ShellValues = Readonly<Record<string, string | readonly string[]>>;

/**
 * A script as a node on `cloud` runs it: the header assigning `values`, the cloud's prelude, then
 * `files` (names in sh/) verbatim. `summary` says what it does, in the header's only comment.
 */
export function renderNodeScript(summary: string, values: ShellValues, files: readonly string[], cloud: ScriptCloud = 'aws'): string {
  const header = ['#!/usr/bin/env bash', `# CloudSeed ${summary}`];
  for (const [name, value] of Object.entries(values)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new RangeError(`invalid variable name ${name}`);
    const items = typeof value === 'string' ? [value] : value;
    // A value is data: a '$' or '`' in it is its own, never an expansion.
    if (items.some((item) => /[$`]/.test(item))) header.push('# shellcheck disable=SC2016 # a literal value');
    header.push(typeof value === 'string' ? `${name}=${shellQuote(value)}` : `${name}=(${items.map(shellQuote).join(' ')})`);
  }
  return `${header.join('\n')}\n\n${scriptBody(cloud, files)}`;
}

const bodies = new Map<string, string>();

/** The prelude and `files`, joined once per list: every render of a plan sends the same text after its header. */
function scriptBody(cloud: ScriptCloud, files: readonly string[]): string {
  const key = [cloud, ...files].join('\n');
  let body = bodies.get(key);
  if (body === undefined) {
    body = [scriptFile(`prelude-${cloud}.sh`), ...files.map(scriptFile)].join('\n');
    bodies.set(key, body);
  }
  return body;
}
