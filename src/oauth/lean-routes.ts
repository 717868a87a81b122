import { Logger, RequestMethod, SetMetadata } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './oauth-exception.filter';

const LEAN_ROUTE = 'gatehouse:lean-route';

/**
 * Marks a controller method that Fastify calls directly, without Nest's per-request execution
 * context (guard, interceptor and pipe consumers, parameter decorators, the exception-filter
 * lookup). The method must take the request as its only parameter, do its own checks (client
 * authentication included: no guards) and resolve with the body of a 200 response. Errors are
 * rendered by the same toErrorResponse as the global exception filter. The protocol endpoints
 * clients call at volume use it: token, introspection, revocation, UserInfo.
 */
export const LeanRoute = () => SetMetadata(LEAN_ROUTE, true);

type LeanHandler = (req: FastifyRequest) => Promise<unknown>;

/**
 * Hands Fastify the @LeanRoute() methods of `app`'s controllers in place of Nest's handler for the
 * same routes, as Nest registers them at init. Hooks, body parsing, logging, metrics, CORS and the
 * 405 answers for other methods are Fastify's and the application's, and apply as before.
 */
export function useLeanRoutes(app: INestApplication, fastify: FastifyInstance): void {
  const logger = new Logger('Gatehouse');
  const handlers = new Map<string, LeanHandler>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype as object) ?? '').replace(/^\/|\/$/g, '');
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const method = prototype[name];
        if (typeof method !== 'function' || !Reflect.getMetadata(LEAN_ROUTE, method)) continue;
        const verb = RequestMethod[Reflect.getMetadata(METHOD_METADATA, method) as RequestMethod];
        const paths = [Reflect.getMetadata(PATH_METADATA, method) as string | string[]].flat();
        for (const path of paths) {
          const url = `/${[base, path.replace(/^\//, '')].filter(Boolean).join('/')}`;
          handlers.set(`${verb} ${url}`, (method as LeanHandler).bind(instance));
        }
      }
    }
  }
  const swapped = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    const key = `${String(route.method)} ${route.url}`;
    const handler = handlers.get(key);
    if (!handler) return;
    swapped.add(key);
    route.handler = (req: FastifyRequest, reply: FastifyReply) => {
      handler(req).then(
        (body) => void reply.send(body),
        (error: unknown) => {
          const { status, body, headers } = toErrorResponse(error, logger, req);
          void reply.status(status).headers(headers).send(body);
        },
      );
    };
  });
  // A lean method whose route Nest did not register as expected would silently run through Nest.
  fastify.addHook('onReady', (done) => {
    const missed = [...handlers.keys()].filter((key) => !swapped.has(key));
    done(missed.length ? new Error(`Lean routes not registered: ${missed.join(', ')}`) : undefined);
  });
}
