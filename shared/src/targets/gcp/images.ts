import type { PostgresComponent } from '../../cs-json/schema.ts';
import { findOs } from '../../postgres/os.ts';
import type { Architecture, OsImage } from '../../postgres/os.ts';

// Which image a Compute Engine VM boots from: the vendor's image family, which always points at its
// newest image, so an insert never pins a stale one. Amazon Linux exists only on AWS (validation
// refuses it for a GCP target before a plan gets here).

type GcpOs = Exclude<OsImage['name'], 'amazon-linux'>;

const imageFamilies: Record<GcpOs, (version: string, architecture: Architecture) => string> = {
  debian: (version, architecture) => `projects/debian-cloud/global/images/family/debian-${version}${architecture === 'arm64' ? '-arm64' : ''}`,
  ubuntu: (version, architecture) =>
    `projects/ubuntu-os-cloud/global/images/family/ubuntu-${version.replace('.', '')}-lts-${architecture === 'arm64' ? 'arm64' : 'amd64'}`,
};

/** The public image family the OS boots from on Compute Engine, for the machine's architecture. */
export function gcpImageFamily(image: OsImage, architecture: Architecture): string {
  if (image.name === 'amazon-linux') throw new RangeError(`${image.label} is only offered on AWS; choose Debian or Ubuntu for Google Cloud`);
  return imageFamilies[image.name](image.version, architecture);
}

/** The component's OS as the OS table describes it. */
export function gcpOsImageFor(component: PostgresComponent): OsImage {
  const image = findOs(component.os.name, component.os.version);
  if (!image) throw new RangeError(`${component.os.name} ${component.os.version} is not in the OS table`);
  return image;
}
