import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient, QueryCommandInput, ScanCommandInput } from '@aws-sdk/lib-dynamodb';

// A Query or Scan returns at most 1 MB (or its Limit) per call; what lists a whole partition reads
// every page through the SDK's own paginators.

/** Every item a Query matches, page by page: one page stops at its Limit or at 1 MB. */
export async function queryAll<T>(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateQuery({ client }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
}

/** Every item a Scan finds, page by page. */
export async function scanAll<T>(client: DynamoDBDocumentClient, input: ScanCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateScan({ client }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
}
