import type { TokenCredential } from '@azure/core-auth';
import { BlobSASPermissions, BlobServiceClient, generateBlobSASQueryParameters, SASProtocol } from '@azure/storage-blob';
import type { BackupLocation } from '../provider.ts';
import { PermanentError } from '../errors.ts';
import { call } from './errors.ts';

// Download links for backups on Azure: a user delegation SAS of the blob in the subscription's
// backup account, signed with a key Blob Storage issues the customer's connection for the link's
// life (no account key exists: shared keys are off). The SAS reads that one blob, over HTTPS only,
// and names the file the browser saves; it can do no more than the connection could.

const MAX_LINK_SECONDS = 3600;
/** A SAS starts a little in the past, so a clock behind Azure's does not make it not yet valid. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface BlobLinkOptions {
  /** The file name the browser saves the blob as. */
  readonly filename: string;
  readonly expiresIn: number;
  readonly now?: () => number;
}

export async function blobDownloadUrl(
  credential: TokenCredential,
  account: string,
  location: BackupLocation,
  options: BlobLinkOptions,
): Promise<string> {
  const { filename, expiresIn, now = Date.now } = options;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_LINK_SECONDS)
    throw new PermanentError(`a download link lives 1 to ${MAX_LINK_SECONDS} seconds, not ${expiresIn}`);
  if (!/^[\w.-]+$/.test(filename)) throw new PermanentError(`${JSON.stringify(filename)} is not a file name for a download`);
  if (!/^[a-z0-9]{3,24}$/.test(account)) throw new PermanentError(`${JSON.stringify(account)} is not a storage account name`);
  const service = new BlobServiceClient(`https://${account}.blob.core.windows.net`, credential);
  const startsOn = new Date(now() - CLOCK_SKEW_MS);
  const expiresOn = new Date(now() + expiresIn * 1000);
  const key = await call(`Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action ${account}`, () =>
    service.getUserDelegationKey(startsOn, expiresOn),
  );
  const sas = generateBlobSASQueryParameters(
    {
      containerName: location.bucket,
      blobName: location.key,
      permissions: BlobSASPermissions.parse('r'),
      protocol: SASProtocol.Https,
      startsOn,
      expiresOn,
      contentDisposition: `attachment; filename="${filename}"`,
    },
    key,
    account,
  );
  return `${service.getContainerClient(location.bucket).getBlobClient(location.key).url}?${sas.toString()}`;
}
