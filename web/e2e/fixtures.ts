import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A tome server of its own: fresh data folder, free loopback port. */
export interface Tome {
  url: string;
  dataDir: string;
}

const BINARY = process.env.TOME_BIN ?? resolve(import.meta.dirname, '../../target/debug/tome');

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

async function waitUntilHealthy(url: string, child: ChildProcess, log: () => string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`tome exited with ${child.exitCode}:\n${log()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 50));
  }
  throw new Error(`tome did not become healthy in 10 s:\n${log()}`);
}

export async function startTome(extraEnv: Record<string, string> = {}): Promise<{ tome: Tome; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tome-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TOME_DATA_DIR: dataDir,
    TOME_BIND: `127.0.0.1:${port}`,
    TOME_SIGNUP: 'open',
    TOME_LOG_FORMAT: 'text',
    RUST_LOG: 'warn',
    ...extraEnv,
  };
  const child = spawn(BINARY, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitUntilHealthy(url, child, () => output);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((wake) => setTimeout(wake, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { tome: { url, dataDir }, stop };
}

export const test = base.extend<{ tome: Tome; hostileFlag: void }>({
  tome: async ({}, use) => {
    // The extractive answerer (no model): answers quote the passages, so they are predictable.
    const { tome, stop } = await startTome();
    await use(tome);
    await stop();
  },
  baseURL: async ({ tome }, use) => use(tome.url),
});

export { expect };

export const ADMIN = { name: 'Ada Admin', email: 'ada@example.com', username: 'ada', password: 'correct horse battery' };

/** First run: create the administrator through the page and land in the chat. */
export async function createAdministrator(page: Page) {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Welcome to Tome' })).toBeVisible();
  await page.getByLabel('Your name').fill(ADMIN.name);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('heading', { name: 'What would you like to know?' })).toBeVisible();
}

/** Signs in through the page as `login`. */
export async function signIn(page: Page, login: string, password: string) {
  await page.goto('/signin');
  await page.getByLabel('Email or username').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Saves a screenshot of the page for people to look at (git-ignored). */
export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `e2e/screenshots/${name}.png`, fullPage: false });
}

/** axe-core finds no serious or critical accessibility violation on the page as it is. */
export async function expectNoSeriousViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), what).toEqual([]);
}
