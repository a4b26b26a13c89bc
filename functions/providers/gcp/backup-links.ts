import { Storage } from '@google-cloud/storage';
import type { AuthClient } from 'google-auth-library';
import type { BackupLocation } from '../provider.ts';
import { AccountAccessError, PermanentError, TransientError } from '../errors.ts';
import { call } from './errors.ts';

// Download links for backups on Google Cloud: a V4 signed URL of the object in the project's
// backup bucket, signed as the project's deployer service account. Its key never leaves Google:
// IAM's signBlob signs the URL for it (the connection grants the account Service Account Token
// Creator on itself, and on no other account). A signed URL lives at most 7 days; CloudSeed's
// live as long as the caller asks, up to an hour.

const MAX_LINK_SECONDS = 3600;

export interface GcsLinkOptions {
  /** The file name the browser saves the object as. */
  readonly filename: string;
  readonly expiresIn: number;
  readonly now?: () => number;
}

export async function gcsDownloadUrl(auth: AuthClient, project: string, location: BackupLocation, options: GcsLinkOptions): Promise<string> {
  const { filename, expiresIn, now = Date.now } = options;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_LINK_SECONDS)
    throw new PermanentError(`a download link lives 1 to ${MAX_LINK_SECONDS} seconds, not ${expiresIn}`);
  if (!/^[\w.-]+$/.test(filename)) throw new PermanentError(`${JSON.stringify(filename)} is not a file name for a download`);
  const storage = new Storage({ authClient: auth, projectId: project });
  const file = storage.bucket(location.bucket).file(location.key);
  const expires = now() + expiresIn * 1000;
  let url: string;
  try {
    [url] = await call('iam.serviceAccounts.signBlob', () =>
      file.getSignedUrl({ version: 'v4', action: 'read', expires, responseDisposition: `attachment; filename="${filename}"` }),
    );
  } catch (error) {
    // The library wraps IAM's refusal in a SigningError that keeps only its message.
    if (error instanceof Error && error.name === 'SigningError') {
      const message = `iam.serviceAccounts.signBlob failed: ${error.message}`;
      if (/denied|PERMISSION_DENIED|forbidden/i.test(error.message))
        throw new AccountAccessError(message, { code: 'PERMISSION_DENIED', cause: error });
      throw new TransientError(message, { cause: error });
    }
    throw error;
  }
  return url;
}
