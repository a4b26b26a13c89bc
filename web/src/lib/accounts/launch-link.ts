// The CloudSeed template's launch link: the one GET /v1/accounts gives, and the one a refusal to
// connect repeats in its detail.

/** A problem about the form as a whole; `link` is a launch link the API's answer carried. */
export interface FormProblem {
  readonly text: string;
  readonly link?: string | undefined;
  /** Field problems the form has no field for. */
  readonly details?: readonly string[];
}

/**
 * The template's quick-create link opening the console in `region`, where the stack, and with it
 * the backup bucket, is created. The API's link is for its default region; anything that is not
 * such a link is kept as it is.
 */
export function launchUrlIn(launchStackUrl: string, region: string): string {
  try {
    const url = new URL(launchStackUrl);
    if (url.protocol !== 'https:' || !url.searchParams.has('region')) return launchStackUrl;
    url.searchParams.set('region', region);
    return url.toString();
  } catch {
    return launchStackUrl;
  }
}

/**
 * A refusal's detail for the alert: the https link in it (the API repeats the template's launch
 * link when the role could not be assumed) taken out to be shown as a link, and the API's pointer
 * to its `errors` dropped, since those are under the fields here.
 */
export function readDetail(detail: string): FormProblem {
  const link = /https:\/\/\S+/.exec(detail)?.[0]?.replace(/[.,;)]+$/, '');
  const text = (link ? detail.replace(link, '') : detail)
    .replace(/;\s*see errors(?: for each field)?\./g, '.')
    .replace(/\s*:\s*$/, '.')
    .replace(/\s+/g, ' ')
    .trim();
  return link ? { text, link } : { text };
}
