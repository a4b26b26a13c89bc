import { findOs } from '../../postgres/os.ts';
import type { Architecture, OsImage } from '../../postgres/os.ts';

// Which Marketplace image an OS boots from on Azure. Only Gen2 images: Trusted Launch (Secure Boot
// and a vTPM) boots nothing else. `latest` lets each deploy take the publisher's newest patch
// level, as the SSM parameters do on EC2.

export interface AzureImageReference {
  readonly publisher: string;
  readonly offer: string;
  readonly sku: string;
  readonly version: 'latest';
}

type AzureOs = Exclude<OsImage['name'], 'amazon-linux'>;

const imageReferences: Record<AzureOs, (architecture: Architecture) => AzureImageReference> = {
  ubuntu: (architecture) => ({
    publisher: 'Canonical',
    offer: 'ubuntu-24_04-lts',
    sku: architecture === 'arm64' ? 'server-arm64' : 'server',
    version: 'latest',
  }),
  debian: (architecture) => ({ publisher: 'Debian', offer: 'debian-12', sku: architecture === 'arm64' ? '12-arm64' : '12-gen2', version: 'latest' }),
};

/**
 * The Gen2 image of `name` `version` for the architecture. Amazon Linux exists only on AWS, and
 * plan validation refuses it for Azure, so asking for it here is a programming error.
 */
export function azureImageReference(name: string, version: string, architecture: Architecture): AzureImageReference {
  const image = findOs(name, version);
  if (!image) throw new RangeError(`${name} ${version} is not in the OS table`);
  if (image.name === 'amazon-linux') throw new RangeError(`${image.label} is only offered on AWS; choose Ubuntu or Debian for Azure`);
  return imageReferences[image.name](architecture);
}
