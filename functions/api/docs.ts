import { createHash } from 'node:crypto';
import { route } from '../lib/http.ts';

// Swagger UI, its assets served by CloudSeed itself under /docs-assets/ (no CDN). The one inline
// script is allowed by its hash, so the page can carry a strict Content-Security-Policy.

const initialiser = "window.ui = SwaggerUIBundle({ url: '/v1/openapi.json', dom_id: '#docs', deepLinking: true, persistAuthorization: false });";
const scriptHash = createHash('sha256').update(initialiser).digest('base64');

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CloudSeed API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
</head>
<body>
<main id="docs" aria-label="CloudSeed API documentation"></main>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script>${initialiser}</script>
</body>
</html>
`;

const headers = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'public, max-age=300',
  'content-security-policy': `default-src 'none'; script-src 'self' 'sha256-${scriptHash}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
};

export const handler = route(() => Promise.resolve({ status: 200, headers, text: page }));
