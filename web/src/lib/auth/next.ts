// Where to go after logging in. `?next=` comes from the address bar, so anything that could leave
// the origin (`//evil.example`, `/\evil.example`, `https:...`) or loop back to a sign-in page is
// replaced by the dashboard.

export const AFTER_SIGN_IN = '/plans';

const SIGN_IN_PAGES = new Set(['/login', '/signup', '/confirm']);
const PROBE_ORIGIN = 'https://cloudseed.invalid';

export function safeNext(next: string | null | undefined, fallback: string = AFTER_SIGN_IN): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  // Browsers drop tabs and newlines inside URLs, so `/\t/evil.example` would still leave the origin.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(next)) return fallback;
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PROBE_ORIGIN || SIGN_IN_PAGES.has(url.pathname.replace(/\/+$/, ''))) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
