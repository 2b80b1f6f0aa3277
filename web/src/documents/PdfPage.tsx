// A PDF's original page, drawn by pdf.js, with the cited passage marked on the page's text
// layer. This module (and pdf.js with it) is loaded only when a PDF is opened.
import { GlobalWorkerOptions, TextLayer, getDocument, type PDFDocumentProxy } from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import { useEffect, useRef, useState } from 'react';
import { coveredItems } from './pdfMatch';

GlobalWorkerOptions.workerSrc = workerUrl;

type Props = {
  /** Where the original file is downloaded from (same origin; the session cookie goes along). */
  url: string;
  /** The page the passage starts on (1-based), and where it ends when it spans pages. */
  page: number;
  pageEnd?: number;
  /** The passage's text, to be found and marked on the page. */
  passage: string;
};

const MAX_WIDTH = 900;

export default function PdfPage({ url, page, pageEnd, passage }: Props) {
  const [pdf, setPdf] = useState<PDFDocumentProxy | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [shown, setShown] = useState(page);
  const [marked, setMarked] = useState<number | null>(null);
  const frame = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const layer = useRef<HTMLDivElement>(null);

  useEffect(() => setShown(page), [page]);

  useEffect(() => {
    // No eval in the page (the CSP forbids it anyway), and no fonts from elsewhere.
    const task = getDocument({ url, isEvalSupported: false, useSystemFonts: true });
    task.promise.then(setPdf, (error: unknown) => setFailed(error instanceof Error ? error.message : String(error)));
    return () => {
      void task.destroy();
    };
  }, [url]);

  useEffect(() => {
    if (!pdf || !frame.current || !canvas.current || !layer.current) return;
    const number = Math.min(Math.max(shown, 1), pdf.numPages);
    const target = canvas.current;
    const textLayer = layer.current;
    const width = Math.min(frame.current.clientWidth || MAX_WIDTH, MAX_WIDTH);
    let cancelled = false;
    let stop = () => {};
    void (async () => {
      const proxy = await pdf.getPage(number);
      if (cancelled) return;
      const natural = proxy.getViewport({ scale: 1 });
      const viewport = proxy.getViewport({ scale: width / natural.width });
      const ratio = window.devicePixelRatio || 1;
      target.width = Math.floor(viewport.width * ratio);
      target.height = Math.floor(viewport.height * ratio);
      target.style.width = `${Math.floor(viewport.width)}px`;
      target.style.height = `${Math.floor(viewport.height)}px`;
      const drawing = proxy.render({
        canvas: target,
        viewport,
        transform: ratio === 1 ? undefined : [ratio, 0, 0, ratio, 0, 0],
      });
      textLayer.replaceChildren();
      textLayer.style.setProperty('--total-scale-factor', String(viewport.scale));
      const text = new TextLayer({ textContentSource: proxy.streamTextContent(), container: textLayer, viewport });
      stop = () => {
        drawing.cancel();
        text.cancel();
      };
      await Promise.all([drawing.promise, text.render()]);
      if (cancelled) return;
      const onThisPage = number >= page && number <= (pageEnd ?? page);
      const hits = onThisPage ? coveredItems(text.textContentItemsStr, passage) : [];
      hits.forEach((index) => text.textDivs[index]?.classList.add('hit'));
      setMarked(hits.length);
      text.textDivs[hits[0] ?? -1]?.scrollIntoView({ block: 'center' });
    })().catch((error: unknown) => {
      if (!cancelled && !(error instanceof Error && error.name === 'RenderingCancelledException')) {
        setFailed(error instanceof Error ? error.message : String(error));
      }
    });
    return () => {
      cancelled = true;
      stop();
    };
  }, [pdf, shown, page, pageEnd, passage]);

  if (failed) return <p role="alert">The PDF could not be shown: {failed}</p>;
  const count = pdf?.numPages ?? 0;
  return (
    <section className="pdf" aria-label="Original page">
      <nav className="pdf-nav" aria-label="Pages">
        <button type="button" onClick={() => setShown((n) => n - 1)} disabled={!pdf || shown <= 1}>
          ‹ Previous page
        </button>
        <span aria-live="polite">{pdf ? `Page ${shown} of ${count}` : 'Opening the PDF…'}</span>
        <button type="button" onClick={() => setShown((n) => n + 1)} disabled={!pdf || shown >= count}>
          Next page ›
        </button>
        {shown !== page && (
          <button type="button" className="link" onClick={() => setShown(page)}>
            Back to the cited page
          </button>
        )}
      </nav>
      <div className="pdf-frame" ref={frame}>
        <div className="pdf-page">
          <canvas ref={canvas} aria-label={`Page ${shown}`} role="img" />
          <div className="textLayer" ref={layer} data-testid="pdf-text-layer" />
        </div>
      </div>
      {marked === 0 && shown === page && (
        <p role="status" className="muted">
          The passage's words could not be found on the drawn page; its text is shown below.
        </p>
      )}
    </section>
  );
}
