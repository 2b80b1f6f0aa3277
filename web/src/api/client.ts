// The one door to the server: typed from the OpenAPI document (schema.d.ts is generated
// from web/openapi.json, which a server test keeps equal to the real document). Requests
// carry the session cookie (HttpOnly, set by the server) and the CSRF header; no token
// ever passes through JavaScript.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export const CSRF_HEADER = 'X-Tome-CSRF';

export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  headers: { [CSRF_HEADER]: '1' },
});

/** An answer of the server that was not a success, with its message in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server's error envelope as an ApiError (or a generic one for bodies that are not). */
export function toApiError(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : 'error';
  const message =
    typeof error?.message === 'string' && error.message.length > 0
      ? error.message
      : `The server answered ${status}.`;
  return new ApiError(status, code, message);
}

/** The data of an openapi-fetch answer, or its error thrown as an ApiError. */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}

/** A message to show for anything thrown. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
