import type { SchemaObject } from '@nestjs/swagger';
import type { Client } from '../clients/client.entity';
import { InvalidRequest } from '../oauth/errors';
import type { OAuthParams } from '../oauth/form';
import { resolveScope } from '../oauth/scopes';

/**
 * One parameter of a grant (node-oidc-provider's `parameters` of lib/actions/grants/*): the form
 * fields it reads, as the OpenAPI document describes them, and how it is checked and converted.
 * `parse` has no side effects and does no I/O: the registry parses every parameter of a request
 * before the grant looks anything up, so a refused parameter has changed nothing (SPEC §8).
 */
export interface GrantParameter<T> {
  /** The form fields this parameter reads; their descriptions say what the field means, not which grant reads it. */
  readonly fields: Readonly<Record<string, SchemaObject>>;
  /** The value the grant works with; throws an OAuthError for a value the request may not have. */
  parse(params: OAuthParams, client: Client): T;
}

export type GrantParameters = Readonly<Record<string, GrantParameter<unknown>>>;

/** The typed request of a grant: one property per parameter, with the parsed value. */
export type ParsedParameters<P extends GrantParameters> = { readonly [K in keyof P]: P[K] extends GrantParameter<infer T> ? T : never };

/** Parses the parameters in the order the grant lists them, which decides the error of a request with several faults. */
export function parseParameters<P extends GrantParameters>(parameters: P, params: OAuthParams, client: Client): ParsedParameters<P> {
  const parsed: Record<string, unknown> = {};
  for (const [key, parameter] of Object.entries(parameters)) parsed[key] = parameter.parse(params, client);
  return parsed as ParsedParameters<P>;
}

/** A string field the grant cannot do without. */
export function requiredString(name: string, description: string, missing = `${name} is required`): GrantParameter<string> {
  return {
    fields: { [name]: { type: 'string', description } },
    parse: (params) => {
      const value = params[name];
      if (value === undefined) throw new InvalidRequest(missing);
      return value;
    },
  };
}

/** A string field that may be left out; the grant decides what its absence means. */
export function optionalString(name: string, description: string): GrantParameter<string | undefined> {
  return { fields: { [name]: { type: 'string', description } }, parse: (params) => params[name] };
}

/**
 * `scope`: the requested scope, or the client's default_scope when absent, every scope registered on
 * the client (SPEC §3.8). `drop` lists scopes removed silently first.
 */
export function requestedScope(drop: readonly string[] = []): GrantParameter<string[]> {
  const dropped = drop.length ? `; ${drop.join(' and ')} are dropped` : '';
  return {
    fields: { scope: { type: 'string', description: `Space-separated; the client's default_scope when absent${dropped}` } },
    parse: (params, client) => resolveScope(client, params.scope, drop),
  };
}
