// How CloudSeed's own superuser sessions reach a server, on EC2 and in the local cloud alike.
//
// The application role owns the application database and may create functions and operators in
// its schemas. A superuser session in that database that resolves a name through `public` would
// run the tenant's code with superuser rights: `n.nspname !~ '^pg_'` looks for `!~(name, unknown)`,
// finds no exact match in pg_catalog, and a tenant's `public.!~(name, name)` wins over the implicit
// cast to text. With the search path pinned to pg_catalog, nothing but the catalog's own functions
// and operators can be found by name. libpq reads PGOPTIONS from the environment, so every psql,
// pg_dump, pg_dumpall and pg_restore a CloudSeed task starts gets it without an extra argument.

/** libpq's PGOPTIONS for every superuser session: server-side `SET search_path = pg_catalog` at login. */
export const PINNED_SEARCH_PATH_OPTIONS = '-c search_path=pg_catalog';

/** The shape of a CloudSeed-generated password (letters and digits, which SASLprep leaves as they are). */
export const GENERATED_PASSWORD_PATTERN = '^[A-Za-z0-9]{24,128}$';

/** PostgreSQL's own default for the SCRAM iteration count (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;

export interface ScramKeys {
  /** Base64 of the salt, the StoredKey and the ServerKey. */
  readonly salt: string;
  readonly storedKey: string;
  readonly serverKey: string;
}

/**
 * The SCRAM-SHA-256 verifier as pg_authid stores it (RFC 5802 keys): `ALTER ROLE ... PASSWORD`
 * given this string stores it as it is, so the statement carries no secret that pg_stat_statements,
 * a statement log or an error report could keep.
 */
export const scramVerifierText = (keys: ScramKeys): string => `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${keys.salt}$${keys.storedKey}:${keys.serverKey}`;

/** What a verifier made by either path looks like. */
export const SCRAM_VERIFIER_SHAPE = /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/;

/**
 * The same computation for an EC2 node, as a python3 program (every OS image in the catalog has
 * python3: dnf, cloud-init and the AWS CLI need it). It reads the password from standard input, so
 * it is never in a command line (`openssl kdf` takes it only as an argument), and prints the verifier.
 */
export const SCRAM_VERIFIER_PYTHON = [
  'import base64, hashlib, hmac, os, sys',
  'password = sys.stdin.buffer.read()',
  'salt = os.urandom(16)',
  `salted = hashlib.pbkdf2_hmac("sha256", password, salt, ${SCRAM_ITERATIONS})`,
  'client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()',
  'stored_key = hashlib.sha256(client_key).digest()',
  'server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()',
  'b64 = lambda raw: base64.b64encode(raw).decode("ascii")',
  `print("SCRAM-SHA-256$${SCRAM_ITERATIONS}:%s$%s:%s" % (b64(salt), b64(stored_key), b64(server_key)))`,
].join('\n');
