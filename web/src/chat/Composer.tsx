import { useRef, useState, type KeyboardEvent } from 'react';

interface Props {
  busy: boolean;
  disabled?: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
  onAttach: (files: File[]) => void;
}

/** The question box: Enter sends, Shift+Enter breaks the line, Esc stops an answer. */
export function Composer({ busy, disabled, onSend, onStop, onAttach }: Props) {
  const [text, setText] = useState('');
  const files = useRef<HTMLInputElement>(null);

  function send() {
    const question = text.trim();
    if (!question || busy || disabled) return;
    onSend(question);
    setText('');
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'Escape' && busy) {
      event.preventDefault();
      onStop();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <input
        ref={files}
        type="file"
        multiple
        hidden
        aria-hidden="true"
        tabIndex={-1}
        onChange={(event) => {
          const chosen = [...(event.target.files ?? [])];
          if (chosen.length > 0) onAttach(chosen);
          event.target.value = '';
        }}
      />
      <button type="button" className="icon" aria-label="Attach files" onClick={() => files.current?.click()}>
        +
      </button>
      <label htmlFor="question" className="visually-hidden">
        Your question
      </label>
      <textarea
        id="question"
        value={text}
        rows={1}
        placeholder="Ask about your documents…"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={keys}
      />
      {busy ? (
        <button type="button" className="primary" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!text.trim() || disabled}>
          Send
        </button>
      )}
    </form>
  );
}
