import type { PublicConfig } from '@cloudseed/shared/config';

/** `GET /config.json`: where the API and the user pool are. */
export type AppConfig = PublicConfig;

let loading: Promise<AppConfig> | undefined;

/** Fetched once per page load; a failure is retried on the next call. */
export function loadConfig(fetcher: typeof fetch = fetch): Promise<AppConfig> {
  loading ??= fetcher('/config.json', { headers: { accept: 'application/json' } })
    .then(async (response) => {
      if (!response.ok) throw new Error(`CloudSeed's configuration could not be loaded (HTTP ${response.status}).`);
      return (await response.json()) as AppConfig;
    })
    .catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
  return loading;
}
