import type { SchemaObject } from '@nestjs/swagger';
import { AuthorizationCodeGrant } from './authorization-code.grant';
import { ClientCredentialsGrant } from './client-credentials.grant';
import type { GrantClass } from './grant-handler';
import { PasswordGrant } from './password.grant';
import { RefreshTokenGrant } from './refresh-token.grant';

/**
 * The registered grants. The module provides them, the registry dispatches to them by grant_type,
 * discovery advertises them and the token endpoint's OpenAPI body is built from their parameters.
 */
export const GRANTS: readonly GrantClass[] = [ClientCredentialsGrant, PasswordGrant, AuthorizationCodeGrant, RefreshTokenGrant];

/**
 * The form fields of the token endpoint, from the parameters of every grant: grant_type, then each
 * field once, its description prefixed by the grants that read it.
 */
export function grantFieldsSchema(grants: readonly GrantClass[] = GRANTS): Record<string, SchemaObject> {
  const fields = new Map<string, { schema: SchemaObject; readers: Map<string, string[]> }>();
  for (const grant of grants) {
    for (const parameter of Object.values(grant.parameters)) {
      for (const [name, schema] of Object.entries(parameter.fields)) {
        const field = fields.get(name) ?? { schema, readers: new Map<string, string[]>() };
        const description = schema.description ?? '';
        field.readers.set(description, [...(field.readers.get(description) ?? []), grant.grantType]);
        fields.set(name, field);
      }
    }
  }
  const properties: Record<string, SchemaObject> = { grant_type: { type: 'string', enum: grants.map((g) => g.grantType) } };
  for (const [name, { schema, readers }] of fields) {
    const description = [...readers].map(([text, grantTypes]) => `${grantTypes.join(', ')}${text ? `: ${text}` : ''}`).join('. ');
    properties[name] = { ...schema, description };
  }
  return properties;
}

/**
 * OpenAPI examples of the token endpoint, one per grant: grant_type and the grant's own minimal
 * request (client authentication goes in the Authorization header, so it is not in the body).
 */
export function grantRequestExamples(grants: readonly GrantClass[] = GRANTS): Record<string, { summary: string; value: Record<string, string> }> {
  return Object.fromEntries(grants.map((g) => [g.grantType, { summary: g.grantType, value: { grant_type: g.grantType, ...g.example } }]));
}

/**
 * OpenAPI: for the token endpoint's description, each grant with the fields it reads and its
 * minimal request (Swagger UI shows neither a form body's examples nor which grant reads a field).
 */
export function grantsDescription(grants: readonly GrantClass[] = GRANTS): string {
  const lines = grants.map((g) => {
    const fields = Object.values(g.parameters).flatMap((p) => Object.keys(p.fields));
    const example = new URLSearchParams({ grant_type: g.grantType, ...g.example }).toString();
    return `- \`${g.grantType}\` reads ${fields.map((f) => `\`${f}\``).join(', ')}. Example: \`${example}\``;
  });
  return `**grant_type** and its parameters:\n\n${lines.join('\n')}`;
}
