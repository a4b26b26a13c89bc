import type { Architecture, OsImage } from '../../postgres/os.ts';

// Which AMI an OS boots from on EC2: the public SSM parameter each vendor keeps pointing at its
// latest image, so a launch resolves it (`resolve:ssm:`) and never pins a stale AMI id.

// Canonical and Debian name architectures the Debian way in their SSM paths.
const debianArch = { x86_64: 'amd64', arm64: 'arm64' } as const satisfies Record<Architecture, string>;

const amiParameters: Record<OsImage['name'], (version: string, architecture: Architecture) => string> = {
  'amazon-linux': (_version, architecture) => `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`,
  ubuntu: (version, architecture) => `/aws/service/canonical/ubuntu/server/${version}/stable/current/${debianArch[architecture]}/hvm/ebs-gp3/ami-id`,
  debian: (_version, architecture) => `/aws/service/debian/release/bookworm/latest/${debianArch[architecture]}`,
};

/** The public SSM parameter that names the image's current AMI for the architecture. */
export function amiParameter(image: OsImage, architecture: Architecture): string {
  return amiParameters[image.name](image.version, architecture);
}
