import { useEffect } from 'react';
import { isSettled, useDocuments, type DocumentInfo } from './uploads';

const STATUS: Record<string, string> = {
  uploaded: 'Queued',
  processing: 'Reading',
  processed: 'Ready to search',
  error: 'Failed',
};

/** Files added in this conversation, each with its processing state. */
export function UploadList({ documents, onSettled }: { documents: DocumentInfo[]; onSettled: () => void }) {
  const states = useDocuments(documents.map((d) => d.id));
  const current = documents.map((doc, index) => states[index]?.data ?? doc);
  const settled = current.length > 0 && current.every((doc) => isSettled(doc.status));
  useEffect(() => {
    if (settled) onSettled();
  }, [settled, onSettled]);
  if (current.length === 0) return null;
  return (
    <ul className="uploads" aria-label="Added files">
      {current.map((doc) => (
        <li key={doc.id} className={`upload ${doc.status}`}>
          <span className="name">{doc.original_name}</span>{' '}
          <span className="state" role="status">
            {STATUS[doc.status] ?? doc.status}
            {doc.status === 'processing' && doc.progress.total > 0 && ` ${doc.progress.done}/${doc.progress.total}`}
            {doc.status === 'processed' && ` · ${doc.chunk_count} ${doc.chunk_count === 1 ? 'passage' : 'passages'}`}
          </span>
          {doc.error && <span className="form-error"> {doc.error}</span>}
        </li>
      ))}
    </ul>
  );
}
