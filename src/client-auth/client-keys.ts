import type { JSONWebKeySet } from 'jose';
import type { Client } from '../clients/client.entity';
import { publicJwks } from '../clients/client-jwks';
import type { JwksUriFetcher } from './jwks-uri.fetcher';

/**
 * The client's registered keys: `jwks`, or the set behind `jwks_uri` (throws JwksFetchError when it
 * cannot be fetched). `refresh` asks the fetcher for a new copy (see JwksUriFetcher.get).
 */
export async function registeredKeys(client: Client, fetcher: JwksUriFetcher, options: { refresh?: boolean } = {}): Promise<JSONWebKeySet> {
  if (client.jwks) return publicJwks(client.jwks) ?? { keys: [] };
  if (client.jwksUri) return fetcher.get(client.jwksUri, options);
  return { keys: [] };
}
