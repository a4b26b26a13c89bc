import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FieldProblem } from '@cloudseed/shared';

// RFC 9457 problem documents. Every error the API answers is one of these.

export interface ProblemDocument {
  readonly type: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: readonly FieldProblem[];
}

/** A 4xx the client can act on; the edge turns it into a problem document. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  readonly status: number;
  readonly title: string;
  readonly errors: readonly FieldProblem[] | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, title: string, detail: string, options: { errors?: readonly FieldProblem[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.status = status;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export const unauthorized = () =>
  new HttpProblem(401, 'Unauthorized', 'A valid access token is required.', { headers: { 'www-authenticate': 'Bearer' } });

export const badRequest = (detail: string, errors?: readonly FieldProblem[]) => new HttpProblem(400, 'Bad Request', detail, errors ? { errors } : {});

export function problemResponse(
  status: number,
  title: string,
  detail: string,
  extra: { errors?: readonly FieldProblem[]; headers?: Record<string, string> } = {},
): APIGatewayProxyStructuredResultV2 {
  const body: ProblemDocument = { type: 'about:blank', status, title, detail, ...(extra.errors ? { errors: extra.errors } : {}) };
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...extra.headers },
    body: JSON.stringify(body),
  };
}
