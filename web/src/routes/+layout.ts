// A single-page app: pages render in the browser (the landing page alone is prerendered).
export const ssr = false;
export const prerender = false;
