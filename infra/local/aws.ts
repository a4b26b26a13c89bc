// What every AWS SDK client pointed at a local emulator gets: a region the emulators accept and
// the installation's own credentials (see keys.ts), which can never reach a real account.

export const LOCAL_REGION = 'local';

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}
