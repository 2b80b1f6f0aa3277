// The one place where text that users or models wrote is rendered as Markdown. Raw HTML is
// never executed: react-markdown does not render it, rehype-sanitize strips what could
// slip through, and links are checked (no `javascript:`; others open without an opener).
import type { ReactNode } from 'react';
import ReactMarkdown, { defaultUrlTransform } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';
import { CopyButton } from './CopyButton';

interface Props {
  text: string;
  /** Renders a citation link `#cite-n`; without it such links are plain text. */
  citation?: (number: number) => ReactNode;
}

const SAFE_SCHEMES = /^(https?:|mailto:|#)/i;

function safeUrl(url: string): string {
  const transformed = defaultUrlTransform(url);
  return SAFE_SCHEMES.test(transformed) ? transformed : '';
}

export function Markdown({ text, citation }: Props) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[rehypeSanitize]}
        urlTransform={safeUrl}
        skipHtml
        components={{
          a({ href, children }) {
            const match = href?.match(/^#cite-(\d+)$/);
            if (match && citation) return <>{citation(Number(match[1]))}</>;
            if (!href) return <span>{children}</span>;
            return (
              <a href={href} target="_blank" rel="noopener noreferrer nofollow">
                {children}
              </a>
            );
          },
          img({ alt }) {
            // Images in answers could reach any server: show what they are instead.
            return <span className="muted">[image: {alt || 'untitled'}]</span>;
          },
          pre({ children, node }) {
            const code = node?.children?.[0];
            const raw =
              code && 'children' in code
                ? code.children.map((child) => ('value' in child ? String(child.value) : '')).join('')
                : '';
            return (
              <div className="code-block">
                <CopyButton text={raw} label="Copy code" />
                <pre>{children}</pre>
              </div>
            );
          },
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
