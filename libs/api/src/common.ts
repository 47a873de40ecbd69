import { z } from 'zod';

/** The error body every route answers with: a stable code, a message for people, and details. */
export const errorBody = z
  .object({
    error: z.looseObject({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBody>;

/** `?limit=` of a list: 1 to `max`, 50 when absent. */
export const limit = (max = 500) => z.coerce.number().int().min(1).max(max).default(50);

/** A query or path value that is a whole number. */
export const wholeNumber = z.coerce.number().int().min(0);

/** A name in a query: trimmed, not empty. */
export const name = z.string().trim().min(1);

/** Dates are sent as ISO 8601 strings. */
export const timestamp = z.string().describe('ISO 8601 date-time');

/** Header naming the person or system behind an admin change, for the audit. */
export const ACTOR_HEADER = 'x-tributary-actor';
export const actor = z.string().trim().min(1).max(200);

/** The usual errors of an admin route: a bad request, no or a wrong token, a failure. */
export const adminErrors = { 400: errorBody, 401: errorBody, 500: errorBody, 503: errorBody } as const;

/**
 * An object whose named fields are checked and whose other fields pass on as they are (a report
 * or declaration whose full shape belongs to the service that writes it). Typed by the named
 * fields only, so the interfaces of the services' code fit it.
 */
export const open = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape) as unknown as z.ZodObject<S>;

/** One field that differs between two versions of a declaration or setting. */
export const fieldChange = z.object({
  path: z.string().describe('Dotted path of the field; "" for the whole'),
  from: z.unknown().optional(),
  to: z.unknown().optional(),
});

/** Any JSON object, passed on as it is. */
export const anyObject = z.looseObject({}) as unknown as z.ZodType<object>;

/**
 * The actor header of an admin change. A header that is not a valid actor is ignored (the query or
 * body's actor, else the token's name, is recorded), as it always was.
 */
export const actorHeaders = z.looseObject({
  [ACTOR_HEADER]: actor.optional().catch(undefined),
});
