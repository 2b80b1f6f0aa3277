import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText, must, type Schemas } from '../api/client';

type FeedbackInput = Schemas['FeedbackRequest'];

/** Thumbs up or down on an answer, and optionally a 1–5 rating, a comment and a correction. */
export function Feedback({ messageId }: { messageId: string }) {
  const [open, setOpen] = useState(false);
  const [thumbs, setThumbs] = useState<'up' | 'down' | null>(null);
  const save = useMutation({
    mutationFn: (body: FeedbackInput) => must(api.PUT('/api/v1/messages/{id}/feedback', { params: { path: { id: messageId } }, body })),
  });

  function rate(value: 'up' | 'down') {
    setThumbs(value);
    save.mutate({ thumbs: value });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || null;
    const rating = Number(form.get('rating'));
    save.mutate(
      { rating: rating || (thumbs === 'down' ? 1 : 5), comment: text('comment'), correction: text('correction') },
      { onSuccess: () => setOpen(false) },
    );
  }

  return (
    <span className="feedback">
      <button type="button" className="small" aria-pressed={thumbs === 'up'} onClick={() => rate('up')}>
        Helpful
      </button>
      <button type="button" className="small" aria-pressed={thumbs === 'down'} onClick={() => rate('down')}>
        Not helpful
      </button>
      <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        Comment
      </button>
      {save.isSuccess && !open && (
        <span role="status" className="muted">
          Thanks for the feedback
        </span>
      )}
      {save.isError && <span role="alert" className="form-error">{errorText(save.error)}</span>}
      {open && (
        <form className="feedback-form stack" onSubmit={submit} aria-label="Feedback on this answer">
          <label>
            Rating
            <select name="rating" defaultValue="">
              <option value="">—</option>
              {[1, 2, 3, 4, 5].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label>
            Comment
            <textarea name="comment" rows={2} maxLength={4000} />
          </label>
          <label>
            A better answer
            <textarea name="correction" rows={3} maxLength={20000} />
          </label>
          <button type="submit" className="primary">
            Send feedback
          </button>
        </form>
      )}
    </span>
  );
}
