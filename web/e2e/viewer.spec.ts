import { createAdministrator, expect, expectNoSeriousViolations, shot, test } from './fixtures';
import { pdf } from './pdf';

// Three pages of unrelated lines, the cited sentence in the middle of the second.
function filler(page: number): string[] {
  const topics = ['harbour tides', 'railway timetables', 'orchard pruning', 'bridge paint', 'library hours'];
  return Array.from({ length: 22 }, (_, line) => {
    const topic = topics[(page * 7 + line) % topics.length];
    return `Page ${page} line ${line} records notes on ${topic} for the district archive.`;
  });
}

const SENTENCE = 'Quokkas sleep for about fourteen hours in the shade of shrubs.';
const REPORT = pdf([
  [...filler(1), ...filler(1)],
  [...filler(2), SENTENCE, ...filler(2)],
  [...filler(3), ...filler(3)],
]);

test('a cited PDF opens at its page, drawn, with the passage marked on it', async ({ page }) => {
  const blocked: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
  });
  await createAdministrator(page);

  // Drop the PDF onto the conversation, as a person drags it from their desktop.
  const drop = await page.evaluateHandle((bytes) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], 'wildlife.pdf', { type: 'application/pdf' }));
    return transfer;
  }, [...REPORT]);
  await page.getByRole('region', { name: 'Conversation' }).dispatchEvent('drop', { dataTransfer: drop });
  await expect(page.getByRole('list', { name: 'Added files' }).getByText('wildlife.pdf')).toBeVisible();
  await expect(page.getByText('Ready to search')).toBeVisible();

  const question = page.getByRole('textbox', { name: 'Your question' });
  await question.fill('How long do quokkas sleep?');
  await question.press('Enter');
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await expect(answer).toContainText('fourteen hours');
  await expect(answer).not.toHaveAttribute('aria-busy', 'true');
  const chip = answer.getByRole('button', { name: /^Source 1: wildlife\.pdf/ }).first();
  await chip.focus();
  await expect(answer.getByRole('tooltip').first()).toContainText('page 2');
  await chip.click();
  await page.getByRole('complementary', { name: 'Sources' }).getByRole('link', { name: /Open at source/ }).first().click();

  // The viewer draws page 2 of 3 and marks the sentence on the page's own text layer.
  const original = page.getByRole('region', { name: 'Original page' });
  await expect(original.getByText('Page 2 of 3')).toBeVisible();
  const marked = page.getByTestId('pdf-text-layer').locator('.hit');
  await expect(marked.first()).toBeVisible();
  await expect(marked).toContainText([SENTENCE]);
  await expect(marked.first()).toBeInViewport();
  const drawn = await page.getByRole('img', { name: 'Page 2' }).evaluate((canvas) => {
    const c = canvas as HTMLCanvasElement;
    const pixels = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if ((pixels[i] ?? 255) < 128) dark += 1;
    return dark;
  });
  expect(drawn, 'the page is drawn, not blank').toBeGreaterThan(500);
  await shot(page, 'viewer-pdf');
  await expectNoSeriousViolations(page, 'PDF viewer');

  // Leafing on leaves the mark behind; the way back finds it again.
  await original.getByRole('button', { name: 'Next page ›' }).click();
  await expect(original.getByText('Page 3 of 3')).toBeVisible();
  await expect(marked).toHaveCount(0);
  await original.getByRole('button', { name: 'Back to the cited page' }).click();
  await expect(marked).toContainText([SENTENCE]);
  expect(blocked, 'nothing the viewer needs is refused by the CSP').toEqual([]);
});
