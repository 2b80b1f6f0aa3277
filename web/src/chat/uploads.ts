// Files dropped on the chat go to the knowledge base, visible to their owner, and are
// watched until they are searchable.
import { useQueries } from '@tanstack/react-query';
import { api, CSRF_HEADER, must, toApiError, type Schemas } from '../api/client';

export type DocumentInfo = Schemas['DocumentResponse'];

export async function uploadFiles(files: File[]): Promise<DocumentInfo[]> {
  const form = new FormData();
  form.append('visibility', 'private');
  for (const file of files) form.append('file', file, file.name);
  const response = await fetch('/api/v1/documents', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { [CSRF_HEADER]: '1' },
    body: form,
  });
  const body = (await response.json().catch(() => undefined)) as Schemas['UploadResponse'] | undefined;
  if (!response.ok || !body) throw toApiError(response.status, body);
  return body.documents;
}

export function isSettled(status: string): boolean {
  return status === 'processed' || status === 'error';
}

/** The documents of `ids`, refreshed every second until each is processed or failed. */
export function useDocuments(ids: string[]) {
  return useQueries({
    queries: ids.map((id) => ({
      queryKey: ['document', id],
      queryFn: () => must(api.GET('/api/v1/documents/{id}', { params: { path: { id } } })),
      refetchInterval: (query: { state: { data?: DocumentInfo } }) =>
        query.state.data && isSettled(query.state.data.status) ? false : 1000,
    })),
  });
}
