import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// One client per container, created at module load. Locally it talks to dynalite.
const endpoint = process.env.DYNAMODB_ENDPOINT;

export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient(endpoint ? { endpoint } : {}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
