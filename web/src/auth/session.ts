// Who is signed in, and the installation's first-run state, as TanStack queries.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, CSRF_HEADER, must, toApiError, type Schemas } from '../api/client';

export type Me = Schemas['MeResponse'];

export function useSetup() {
  return useQuery({ queryKey: ['setup'], queryFn: () => must(api.GET('/api/v1/setup')), staleTime: 60_000 });
}

/** The signed-in person (null when no browser session is live). */
export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async (): Promise<Me | null> => {
      const { data, error, response } = await api.GET('/api/v1/auth/me', {});
      if (response.status === 401) return null;
      if (!response.ok || !data) throw toApiError(response.status, error);
      return data;
    },
    retry: false,
    staleTime: 30_000,
  });
}

export interface SignIn {
  login: string;
  password: string;
  totp_code?: string;
  recovery_code?: string;
}

/** Whether a refused sign-in asks for the second factor. */
export function needsSecondFactor(message: string): boolean {
  return message.includes('totp_code');
}

export function useSignedIn() {
  const client = useQueryClient();
  // Everything cached belonged to nobody (or to the previous person): start over.
  return () => client.resetQueries();
}

export async function signIn(input: SignIn) {
  return must(api.POST('/api/v1/auth/cookie', { params: { header: { [CSRF_HEADER]: '1' } }, body: input }));
}

export async function signOut() {
  await api.POST('/api/v1/auth/logout', {});
}
