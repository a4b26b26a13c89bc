// What every AWS SDK client pointed at a local emulator gets: a region the emulators accept and
// credentials that can never reach a real account.

export const LOCAL_REGION = 'local';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
