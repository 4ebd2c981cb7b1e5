// Pure functions of the UI, tested without a window.
import type { Step } from "./api";

export const STEPS: Step[] = [
  "reading-card",
  "checking-certificate",
  "requesting-challenge",
  "waiting-for-pin",
  "signing-on-card",
  "storing-request",
  "sending",
  "portal-checks",
  "done",
];

/** Which steps are done, which is current, for the progress list. */
export function stepStates(current: Step | null): Array<{ step: Step; state: "done" | "current" | "todo" }> {
  const at = current ? STEPS.indexOf(current) : -1;
  return STEPS.map((step, i) => ({
    step,
    state: current === "done" ? "done" : i < at ? "done" : i === at ? "current" : "todo",
  }));
}

/** A certificate can be chosen when it can do the job asked for and has no error finding. */
export function usable(c: { findings: Array<{ severity: string }>; unfit: { code: string } | null }): boolean {
  return !c.unfit && !c.findings.some((f) => f.severity === "error");
}

/** RFC 3339 to a short local date (YYYY-MM-DD), as certificates show validity. */
export function shortDate(rfc3339: string): string {
  return rfc3339.slice(0, 10);
}

/** The PIN field accepts what the card does: 4 to 16 printable ASCII characters. */
export function pinAcceptable(pin: string): boolean {
  return pin.length >= 4 && pin.length <= 16 && /^[\x21-\x7e]+$/.test(pin);
}

/** What stops a PIN change or unblock before anything is sent; null when it may be sent. */
export type PinFormProblem = "code" | "new" | "mismatch" | "consent";

/**
 * Checks the PIN form without the card: the current PIN or PUK and the new PIN must be codes a
 * card takes, the two new-PIN fields must agree, and on the last try the consent box must be
 * ticked. Each problem is said next to its field, and no card command is sent.
 */
export function pinFormProblem(form: { code: string; newPin: string; again: string; lastTry: boolean; consent: boolean }): PinFormProblem | null {
  if (!pinAcceptable(form.code)) return "code";
  if (!pinAcceptable(form.newPin)) return "new";
  if (form.newPin !== form.again) return "mismatch";
  if (form.lastTry && !form.consent) return "consent";
  return null;
}

/** The readers whose card Podpis knows, in the order listed: the ones a PIN can be managed on. */
export function pinReaders<R extends { card: { kind: string } | null }>(readers: R[]): R[] {
  return readers.filter((r) => r.card !== null && r.card.kind !== "unknown");
}

/** Where a PIN can be managed: the known cards first, then the PKCS#11 tokens, each once by name. */
export function pinPlaces<R extends { reader: string; card: { kind: string } | null }>(
  readers: R[], tokens: Array<{ label: string }>,
): Array<{ place: string; card: string | null }> {
  const places = pinReaders(readers).map((r) => ({ place: r.reader, card: r.card ? r.card.kind : null }));
  for (const token of tokens) {
    if (!places.some((p) => p.place === token.label)) places.push({ place: token.label, card: null });
  }
  return places;
}

/**
 * The certificates to choose from: the cards' first, then the PKCS#11 tokens' that no card in a
 * reader holds too (a PIV card read by both OpenSC's module and Podpis's driver is listed once,
 * as the card's, as the flow chooses it).
 */
export function mergeCertificates<C extends { sha256: string }>(cards: C[], tokens: C[]): C[] {
  const onCards = new Set(cards.map((c) => c.sha256));
  return [...cards, ...tokens.filter((c) => !onCards.has(c.sha256))];
}
