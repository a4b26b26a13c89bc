// The domain's typed errors. Edges (HTTP handlers, the CLI) map them by `instanceof`; anything
// else is a fault and is reported without echoing its details.

export interface FieldProblem {
  /** JSON-pointer-like location of the offending value, e.g. `/components/0/hardware/storage/sizeGiB`; `/` is the document itself. */
  readonly path: string;
  readonly message: string;
}

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
}

export class ValidationFailed extends DomainError {
  override readonly name = 'ValidationFailed';
  readonly errors: readonly FieldProblem[];
  constructor(errors: readonly FieldProblem[], message = 'The request has invalid fields') {
    super(message);
    this.errors = errors;
  }
}

export class NotFound extends DomainError {
  override readonly name = 'NotFound';
}

export class Conflict extends DomainError {
  override readonly name = 'Conflict';
}

export class PreconditionFailed extends DomainError {
  override readonly name = 'PreconditionFailed';
}
