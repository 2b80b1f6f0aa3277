// Light, dark or the system's choice. Kept in the account's settings, mirrored in
// localStorage so that the next load starts in the right theme.
export type Theme = 'light' | 'dark' | 'system';

const KEY = 'tome.theme';

export function storedTheme(): Theme {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(theme: Theme) {
  localStorage.setItem(KEY, theme);
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}
