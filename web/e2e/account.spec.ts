import { ADMIN, createAdministrator, expect, shot, signIn, test } from './fixtures';
import type { Page } from '@playwright/test';
import { totp } from './totp';

async function signInWithRecoveryCode(page: Page, code: string) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, ADMIN.username, ADMIN.password);
  await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await page.getByLabel('Recovery code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('two-factor: enrol with the secret, then sign in with a code and with a recovery code', async ({ page }) => {
  await createAdministrator(page);
  await page.getByRole('link', { name: ADMIN.name }).click();
  const section = page.getByRole('region', { name: 'Two-factor authentication' });
  await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await expect(section.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  const secret = (await section.getByLabel('Secret').textContent()) ?? '';
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  await shot(page, 'two-factor-setup');
  const now = Date.now() / 1000;
  await section.getByLabel('Code from your authenticator app').fill(totp(secret, now));
  await section.getByRole('button', { name: 'Turn on' }).click();
  const codes = section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await expect(codes.first()).toBeVisible();
  const recovery = (await codes.first().textContent()) ?? '';
  await expect(section.getByRole('link', { name: 'Download the recovery codes' })).toBeVisible();
  await expect(section).toContainText('On.');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, ADMIN.username, ADMIN.password);
  await expect(page.getByText('Two-factor authentication is on for this account.')).toBeVisible();
  // The step that turned it on is used; the next one is accepted.
  await page.getByLabel('Code from your authenticator app').fill(totp(secret, now + 30));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'What would you like to know?' })).toBeVisible();

  await signInWithRecoveryCode(page, recovery);
  await expect(page.getByRole('heading', { name: 'What would you like to know?' })).toBeVisible();

  // A recovery code works once.
  await signInWithRecoveryCode(page, recovery);
  await expect(page.getByRole('alert')).toContainText('two-factor code is wrong or was already used');
});

test('an API key is shown once, works for a program, and stops working when revoked', async ({ page, tome }) => {
  await createAdministrator(page);
  await page.getByRole('link', { name: ADMIN.name }).click();
  const section = page.getByRole('region', { name: 'API keys' });
  const form = section.getByRole('form', { name: 'New API key' });
  await form.getByLabel('Key name').fill('Reporting script');
  await form.getByRole('button', { name: 'Create key' }).click();
  const key = ((await section.getByRole('status').locator('code').textContent()) ?? '').trim();
  expect(key.length).toBeGreaterThan(20);
  await expect(section.getByRole('button', { name: 'Copy the key' })).toBeVisible();
  await shot(page, 'api-key-created');

  const asProgram = (path: string) => fetch(`${tome.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  expect((await asProgram('/api/v1/documents')).status).toBe(200);
  expect((await asProgram('/api/v1/audit-log')).status, 'the key holds only the permissions given').toBe(403);

  await section.getByRole('button', { name: 'Done' }).click();
  await expect(section.locator('code', { hasText: key })).toHaveCount(0);
  await section.getByRole('button', { name: 'Revoke Reporting script' }).click();
  await expect(section.getByText('Reporting script')).toHaveCount(0);
  expect((await asProgram('/api/v1/documents')).status).toBe(401);
});
