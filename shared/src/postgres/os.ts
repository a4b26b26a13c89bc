/** CPU architecture of a node; every supported OS has images for both. */
export type Architecture = 'x86_64' | 'arm64';

export type OsName = 'amazon-linux' | 'ubuntu' | 'debian';

export interface OsImage {
  readonly name: OsName;
  readonly version: string;
  readonly label: string;
  readonly packageManager: 'dnf' | 'apt';
  readonly pgMajors: readonly number[];
  packages(pgMajor: number): readonly string[];
  needsPgdg(pgMajor: number): boolean;
  binDir(pgMajor: number): string;
  dataDir(pgMajor: number): string;
  serviceName(pgMajor: number): string;
}

// Every per-major question is refused for a major the image cannot install, so a
// caller that skipped the pgMajors check fails at plan time, not half-way through
// a boot script on the customer's instance.
function defineOs(spec: OsImage): OsImage {
  const pgMajors = Object.freeze([...spec.pgMajors]);
  const supported = (pgMajor: number): number => {
    if (!pgMajors.includes(pgMajor)) {
      throw new RangeError(`${spec.label} cannot install PostgreSQL ${pgMajor}; it offers ${pgMajors.join(', ')}`);
    }
    return pgMajor;
  };
  return Object.freeze({
    name: spec.name,
    version: spec.version,
    label: spec.label,
    packageManager: spec.packageManager,
    pgMajors,
    packages: (pgMajor: number) => Object.freeze([...spec.packages(supported(pgMajor))]),
    needsPgdg: (pgMajor: number) => spec.needsPgdg(supported(pgMajor)),
    binDir: (pgMajor: number) => spec.binDir(supported(pgMajor)),
    dataDir: (pgMajor: number) => spec.dataDir(supported(pgMajor)),
    serviceName: (pgMajor: number) => spec.serviceName(supported(pgMajor)),
  });
}

// AL2023 packages each major as postgresqlNN, postgresqlNN-server, postgresqlNN-contrib,
// all installing into /usr/bin, so the majors conflict and exactly one is installed.
// 15 shipped at GA, 16 and 17 were added later, and 18 arrived in 2023.10.20260330
// (amazonlinux/amazon-linux-2023 issue #1031); 13 and 14 were never in AL2023.
// Data directory (a CloudSeed choice): /var/lib/pgsql/data, the PGDATA the packaged
// postgresql.service already points at, so CloudSeed needs no unit override. It is
// the same for every major because only one major can be installed at a time.
// needsPgdg is about apt.postgresql.org, so it is always false on this dnf image:
// CloudSeed installs only Amazon's own builds here.
const amazonLinux2023 = defineOs({
  name: 'amazon-linux',
  version: '2023',
  label: 'Amazon Linux 2023',
  packageManager: 'dnf',
  pgMajors: [15, 16, 17, 18],
  packages: (pgMajor) => [`postgresql${pgMajor}-server`, `postgresql${pgMajor}-contrib`],
  needsPgdg: () => false,
  binDir: () => '/usr/bin',
  dataDir: () => '/var/lib/pgsql/data',
  serviceName: () => 'postgresql',
});

// Debian and Ubuntu share postgresql-common's layout: versioned binaries under
// /usr/lib/postgresql/NN/bin and one templated unit per cluster. Since PostgreSQL 10
// postgresql-contrib-NN is only a virtual package provided by postgresql-NN, so the
// server package alone brings the contrib extensions.
// Majors 13..18 come from apt.postgresql.org except the one the distribution ships.
// 13 is past upstream end of life (2025-11) but PGDG still carries it, so a customer
// can stand up a copy of an old database before upgrading it.
function debianFamily(spec: { name: 'ubuntu' | 'debian'; version: string; label: string; distroPgMajor: number }): OsImage {
  return defineOs({
    name: spec.name,
    version: spec.version,
    label: spec.label,
    packageManager: 'apt',
    pgMajors: [13, 14, 15, 16, 17, 18],
    packages: (pgMajor) => [`postgresql-${pgMajor}`],
    needsPgdg: (pgMajor) => pgMajor !== spec.distroPgMajor,
    binDir: (pgMajor) => `/usr/lib/postgresql/${pgMajor}/bin`,
    dataDir: (pgMajor) => `/var/lib/postgresql/${pgMajor}/main`,
    serviceName: (pgMajor) => `postgresql@${pgMajor}-main`,
  });
}

const ubuntu2404 = debianFamily({
  name: 'ubuntu',
  version: '24.04',
  label: 'Ubuntu 24.04 LTS',
  distroPgMajor: 16,
});

const debian12 = debianFamily({
  name: 'debian',
  version: '12',
  label: 'Debian 12 (bookworm)',
  distroPgMajor: 15,
});

export const operatingSystems: readonly OsImage[] = Object.freeze([amazonLinux2023, ubuntu2404, debian12]);

export const defaultOs: OsImage = amazonLinux2023;

export function findOs(name: string, version: string): OsImage | undefined {
  return operatingSystems.find((os) => os.name === name && os.version === version);
}
