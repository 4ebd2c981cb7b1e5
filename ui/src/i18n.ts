// Every string of the UI comes from the translation files, which have the same keys.
import ru from "./i18n/ru.json";
import en from "./i18n/en.json";

export type Language = "ru" | "en";
export type Key = keyof typeof ru;

const tables: Record<Language, Record<string, string>> = { ru, en };
let current: Language = "ru";

export function setLanguage(language: Language): void {
  current = language;
  document.documentElement.lang = language;
}

export function language(): Language {
  return current;
}

/** The text of `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, values: Record<string, string | number> = {}): string {
  const text = tables[current][key] ?? tables.ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

export function missingKeys(): { ru: string[]; en: string[] } {
  const r = Object.keys(ru), e = Object.keys(en);
  return { ru: e.filter((k) => !r.includes(k)), en: r.filter((k) => !e.includes(k)) };
}
