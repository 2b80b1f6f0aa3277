import { test as base } from '@playwright/test';
import { createAdministrator, expect, startTome, type Tome } from './fixtures';
import { startStubLlm } from './stub-llm';

const PIECES = Array.from({ length: 30 }, (_, i) => `word${i} `);

// A model that writes slowly (30 pieces, 100 ms apart) behind a real tome server.
const test = base.extend<{ tome: Tome }>({
  tome: async ({}, use) => {
    const llm = await startStubLlm(PIECES, 100);
    const { tome, stop } = await startTome({ TOME_LLM_BASE_URL: llm.baseUrl, TOME_LLM_MODEL: 'stub-model' });
    await use(tome);
    await stop();
    await llm.close();
  },
  baseURL: async ({ tome }, use) => use(tome.url),
});

test('a reload mid-answer re-attaches: the answer continues and completes once', async ({ page }) => {
  await createAdministrator(page);
  await page.getByRole('textbox', { name: 'Your question' }).fill('Tell me everything');
  await page.getByRole('textbox', { name: 'Your question' }).press('Enter');
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await expect(answer).toContainText('word3');
  await expect(answer).not.toContainText('word25');

  await page.reload();
  const resumed = page.getByRole('article', { name: 'Answer' });
  await expect(resumed).toContainText('word29', { timeout: 20_000 });
  await expect(resumed).not.toHaveAttribute('aria-busy', 'true');
  await expect(resumed).toHaveCount(1);
  const text = (await resumed.getByRole('paragraph').first().textContent()) ?? '';
  for (const piece of PIECES) expect(text.match(new RegExp(`\\b${piece.trim()}\\b`, 'g'))?.length, piece).toBe(1);

  const conversations = await (await page.request.get('/api/v1/conversations')).json();
  const thread = await (await page.request.get(`/api/v1/conversations/${conversations.items[0].id}/messages`)).json();
  const answers = thread.items.filter((m: { role: string }) => m.role === 'assistant');
  expect(answers).toHaveLength(1);
  expect(answers[0].metadata.cancelled).not.toBe(true);
});

test('Stop cancels the answer on the server and keeps the part written', async ({ page }) => {
  await createAdministrator(page);
  await page.getByRole('textbox', { name: 'Your question' }).fill('Tell me everything');
  await page.getByRole('textbox', { name: 'Your question' }).press('Enter');
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await expect(answer).toContainText('word2');
  await page.getByRole('textbox', { name: 'Your question' }).press('Escape');
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  const stored = page.getByRole('article', { name: 'Answer' });
  await expect(stored).toContainText('word2');
  await expect(stored).toContainText('cancelled');
  await expect(stored).not.toContainText('word29');
});
