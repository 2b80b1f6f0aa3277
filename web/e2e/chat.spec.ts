import type { Page } from '@playwright/test';
import { ADMIN, createAdministrator, expect, expectNoSeriousViolations, shot, signIn, test } from './fixtures';

const CATS = `# Cat care

Cats sleep for about sixteen hours every day, mostly in warm and quiet places.

## Feeding

Adult cats eat two small meals a day and always need fresh water nearby.
`;

async function attach(page: Page, name: string, content: string, mimeType = 'text/markdown') {
  await page.locator('input[type=file]').setInputFiles({ name, mimeType, buffer: Buffer.from(content) });
  await expect(page.getByRole('list', { name: 'Added files' }).getByText(name)).toBeVisible();
}

test('first run: create the administrator, add a file, ask, and check the cited source', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Models on this server' })).toBeVisible();
  await shot(page, 'first-run');
  await expectNoSeriousViolations(page, 'first run');
  await createAdministrator(page);

  await attach(page, 'cats.md', CATS);
  await expect(page.getByText('Ready to search')).toBeVisible();
  await page.getByLabel('Your question').fill('How long do cats sleep?');
  await page.getByLabel('Your question').press('Enter');

  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await expect(answer).toContainText('sixteen hours');
  await expect(answer).not.toHaveAttribute('aria-busy', 'true');
  const chip = answer.getByRole('button', { name: /^Source 1: cats\.md/ }).first();
  await chip.hover();
  const tip = answer.getByRole('tooltip').first();
  await expect(tip).toBeVisible();
  await expect(tip).toContainText('cats.md');
  await shot(page, 'chat-citation-hover');
  await chip.click();
  const sources = page.getByRole('complementary', { name: 'Sources' });
  await expect(sources).toContainText('cats.md');
  await expect(sources.locator('li.focused')).toContainText('sixteen hours');
  await shot(page, 'chat-sources');
  await expectNoSeriousViolations(page, 'chat with sources');

  // Open at source: the document's text with the cited passage highlighted and in view.
  await sources.getByRole('link', { name: /Open at source/ }).first().click();
  await expect(page.getByRole('heading', { name: 'cats.md' })).toBeVisible();
  const passage = page.getByLabel('Cited passage');
  await expect(passage).toContainText('Cats sleep for about sixteen hours');
  await expect(passage).toBeInViewport();
  await expect(page.getByRole('article', { name: 'Document text' })).toContainText('always need fresh water');
  await shot(page, 'viewer');
  await expectNoSeriousViolations(page, 'document viewer');
  await page.getByRole('button', { name: 'Back' }).click();
  await expect(page.getByRole('article', { name: 'Answer' })).toHaveCount(1);

  // The conversation is listed, and survives a reload as stored messages.
  await expect(page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /cats sleep/i })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('article', { name: 'Answer' })).toHaveCount(1);
  await expect(page.getByRole('article', { name: 'Your question' })).toHaveCount(1);
});

test('what documents and answers contain never runs in the page', async ({ page }) => {
  const hostile = [
    '# Hostile notes',
    'Quokkas smile at <script>window.__pwned = "script"</script> visitors.',
    'Quokkas <img src=x onerror="window.__pwned = \'img\'"> live on Rottnest.',
    'Quokkas [win a prize](javascript:window.__pwned="link") are marsupials.',
    'Quokkas <a href="javascript:window.__pwned=1">html link</a> and <iframe src="javascript:1"></iframe> eat leaves.',
  ].join('\n\n');
  await createAdministrator(page);
  await attach(page, 'hostile.md', hostile);
  await expect(page.getByText('Ready to search')).toBeVisible();
  await page.getByLabel('Your question').fill('What do quokkas do?');
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await expect(answer).toContainText('Quokkas');
  await expect(answer).not.toHaveAttribute('aria-busy', 'true');
  await answer.getByRole('button', { name: /sources?$/ }).click();
  await expect(page.getByRole('complementary', { name: 'Sources' })).toContainText('Quokkas');
  for (const link of await page.getByRole('link').all()) {
    expect(await link.getAttribute('href')).not.toMatch(/^\s*javascript:/i);
  }
  await expect(page.locator('main img, main iframe, main script')).toHaveCount(0);
  expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
});

test('signing out every other session signs out the other browser', async ({ page, browser, tome }) => {
  await createAdministrator(page);
  const other = await browser.newContext({ baseURL: tome.url });
  const second = await other.newPage();
  await signIn(second, ADMIN.username, ADMIN.password);
  await expect(second.getByRole('heading', { name: 'What would you like to know?' })).toBeVisible();

  await page.getByRole('link', { name: ADMIN.name }).click();
  const sessions = page.getByRole('region', { name: 'Where you are signed in' });
  await expect(sessions.getByRole('listitem')).toHaveCount(2);
  await shot(page, 'settings');
  await expectNoSeriousViolations(page, 'settings');
  await sessions.getByRole('button', { name: 'Sign out all other sessions' }).click();
  await expect(sessions.getByRole('status')).toHaveText('Signed out 1 other session.');
  await expect(sessions.getByRole('listitem')).toHaveCount(1);

  await second.reload();
  await expect(second.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await other.close();
  // This browser is still signed in.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
});

test('the dark theme is kept and passes the accessibility checks', async ({ page }) => {
  await createAdministrator(page);
  await page.getByRole('link', { name: ADMIN.name }).click();
  await page.getByLabel('Dark').check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await shot(page, 'settings-dark');
  await expectNoSeriousViolations(page, 'settings, dark');
  await page.getByRole('link', { name: 'New chat' }).click();
  await shot(page, 'chat-empty-dark');
  await expectNoSeriousViolations(page, 'chat, dark');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await shot(page, 'sign-in-dark');
  await expectNoSeriousViolations(page, 'sign in, dark');
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });

  test('the chat journey works on a 375-pixel screen', async ({ page }) => {
    await createAdministrator(page);
    await attach(page, 'cats.md', CATS);
    await expect(page.getByText('Ready to search')).toBeVisible();
    await page.getByLabel('Your question').fill('What do adult cats eat?');
    await page.getByRole('button', { name: 'Send' }).tap();
    const answer = page.getByRole('article', { name: 'Answer' }).last();
    await expect(answer).toContainText('meals');
    await expect(answer).not.toHaveAttribute('aria-busy', 'true');
    await answer.getByRole('button', { name: /sources?$/ }).tap();
    await expect(page.getByRole('complementary', { name: 'Sources' })).toContainText('cats.md');
    await shot(page, 'phone-sources');
    await page.getByRole('button', { name: 'Close sources' }).tap();
    await page.getByRole('button', { name: 'Menu' }).tap();
    await expect(page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /adult cats/i })).toBeVisible();
    await shot(page, 'phone-menu');
  });
});

test('edit a question, switch between versions, regenerate an answer and rate it', async ({ page }) => {
  await createAdministrator(page);
  await attach(page, 'cats.md', CATS);
  await expect(page.getByText('Ready to search')).toBeVisible();
  const question = page.getByLabel('Your question');
  await question.fill('How long do cats sleep?');
  await question.press('Enter');
  const answers = page.getByRole('article', { name: 'Answer' });
  await expect(answers.last()).toContainText('sixteen hours');
  await expect(answers.last()).not.toHaveAttribute('aria-busy', 'true');

  // Edit: the new question starts a branch beside the first one.
  await page.getByRole('article', { name: 'Your question' }).getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByRole('form', { name: 'Edit your question' });
  await editor.getByLabel('Your question').fill('What do adult cats eat?');
  await editor.getByRole('button', { name: 'Send edited question' }).click();
  const asked = page.getByRole('article', { name: 'Your question' });
  await expect(asked).toHaveCount(1);
  await expect(asked).toContainText('What do adult cats eat?');
  await expect(answers.last()).toContainText('small meals');
  await expect(asked.getByRole('group', { name: 'Versions' })).toContainText('2/2');
  await asked.getByRole('button', { name: 'Previous version' }).click();
  await expect(asked).toContainText('How long do cats sleep?');
  await expect(asked.getByRole('group', { name: 'Versions' })).toContainText('1/2');
  await expect(answers.last()).toContainText('sixteen hours');

  // Regenerate: a second answer to the same question.
  await answers.last().getByRole('button', { name: 'Regenerate' }).click();
  await expect(answers.last().getByRole('group', { name: 'Versions' })).toContainText('2/2');
  await expect(answers).toHaveCount(1);
  await shot(page, 'chat-versions');

  // Feedback, read back through the API.
  const answer = answers.last();
  await answer.getByRole('button', { name: 'Helpful', exact: true }).click();
  await expect(answer.getByRole('button', { name: 'Helpful', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await answer.getByRole('button', { name: 'Comment' }).click();
  const form = answer.getByRole('form', { name: 'Feedback on this answer' });
  await form.getByLabel('Rating').selectOption('4');
  await form.getByLabel('Comment').fill('Clear and cited.');
  await form.getByRole('button', { name: 'Send feedback' }).click();
  await expect(answer.getByText('Thanks for the feedback')).toBeVisible();

  const conversations = await (await page.request.get('/api/v1/conversations')).json();
  const id = conversations.items[0].id as string;
  const thread = await (await page.request.get(`/api/v1/conversations/${id}/messages`)).json();
  const shown = thread.items.find((m: { id: string }) => m.id === thread.selected_path.at(-1));
  const feedback = await (await page.request.get(`/api/v1/messages/${shown.id}/feedback`)).json();
  expect(feedback).toMatchObject({ rating: 4, comment: 'Clear and cited.' });
  expect(thread.items.filter((m: { role: string }) => m.role === 'assistant')).toHaveLength(3);
});
