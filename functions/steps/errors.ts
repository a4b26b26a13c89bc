/** The name and a one-line message of anything thrown, for logs and the customer's failure reason. */
export function findError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message.split('\n')[0]?.slice(0, 500) || error.name };
  return { name: 'Error', message: String(error).slice(0, 500) };
}
