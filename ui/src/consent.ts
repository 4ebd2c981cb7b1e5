// The consent screen: a question of the browser's host (podpis-host), put before the person by
// Rust (src-tauri/src/consent.rs). The origin in large print, the certificate as the app reads it
// and judges it, what will be signed, a PIN field when the page gave none, and two buttons. Only
// a click here answers yes; going to another screen or closing the window refuses.
import { api, asUiError, onConsentAsked, onConsentWithdrawn } from "./api";
import type { ConsentView } from "./api";
import { t, type Key } from "./i18n";
import { pinAcceptable, shortDate } from "./logic";

export interface ConsentHooks {
  screen: HTMLElement;
  showError: (e: unknown) => void;
  clearError: () => void;
  /** Draws again the screen the question interrupted. */
  back: () => void;
}

let hooks: ConsentHooks | null = null;
/** The question on the screen, null when none. */
let shown: ConsentView | null = null;

function el(tag: string, attrs: Record<string, string | boolean> = {}, ...children: Array<Node | string>): HTMLElement {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false) continue;
    e.setAttribute(name, value === true ? "" : value);
  }
  e.append(...children);
  return e;
}

/** Whether a question is on the screen (the other screens must not draw over it). */
export function consentActive(): boolean {
  return shown !== null;
}

/** The question leaves the screen at once: nothing of it stays to be clicked while the screen
 * it interrupted is drawn again. */
function leave(): void {
  shown = null;
  hooks?.screen.querySelector("#consent")?.remove();
}

/** Refuses the question on the screen (the person went to another screen). */
export async function refuseConsent(): Promise<void> {
  if (!shown) return;
  const id = shown.id;
  leave();
  await api.consentAnswer(id, false, null, false).catch(() => undefined);
}

/** Draws the question again (the language changed). */
export function redrawConsent(): void {
  if (shown) draw(shown);
}

/** Listens for questions from start-up, and shows one already waiting. */
export async function watchConsent(h: ConsentHooks): Promise<void> {
  hooks = h;
  await onConsentAsked(() => void look());
  await onConsentWithdrawn((id) => {
    if (shown?.id !== id) return;
    leave();
    hooks?.back();
    hooks?.showError({ code: "consent-gone", message: t("consent.withdrawn"), kept: false });
  });
  await look();
}

async function look(): Promise<void> {
  const view = await api.consentPending().catch(() => null);
  if (view && view.id !== shown?.id) {
    shown = view;
    hooks?.clearError();
    draw(view);
  }
}

function draw(view: ConsentView): void {
  if (!hooks) return;
  const h = hooks;
  const sign = view.sign;
  const titleKey: Key = sign ? "consent.sign.title" : "consent.list.title";
  const section = el("section", { id: "consent", "data-kind": view.kind, "data-id": String(view.id), "aria-labelledby": "consent-title", "aria-describedby": "consent-question" },
    el("h2", { id: "consent-title" }, t(titleKey)),
    el("p", { class: "consent-origin-label" }, t("consent.origin")),
    el("p", { id: "consent-origin", class: "consent-origin" }, view.origin),
    el("p", { id: "consent-question" }, t(sign ? "consent.sign.question" : "consent.list.question")));
  const refuse = el("button", { id: "consent-refuse", type: "button", class: "secondary" }, t("consent.refuse")) as HTMLButtonElement;
  const allow = el("button", { id: "consent-allow", type: "button", class: "primary" }, t(sign ? "consent.sign" : "consent.allow")) as HTMLButtonElement;
  const problem = el("p", { id: "consent-problem", class: "warning", "aria-live": "assertive", hidden: true });
  let pin: HTMLInputElement | null = null;
  let lastTry: HTMLInputElement | null = null;

  if (!sign) {
    section.append(el("p", { id: "consent-note" }, t("consent.list.note")));
  } else {
    const c = sign.certificate;
    const card = el("article", { id: "consent-certificate", class: "card certificate", "aria-labelledby": "consent-cert-title" },
      el("h3", { id: "consent-cert-title" }, t("consent.certificate")));
    if (c) {
      const rows: Array<[Key, string | null]> = [
        ["consent.place", sign.place],
        ["confirm.owner", [c.surname, c.given_names].filter(Boolean).join(" ") || c.subject],
        ["confirm.organisation", c.organisation],
        ["confirm.snils", c.snils], ["confirm.inn", c.inn], ["confirm.innLe", c.inn_le],
        ["confirm.ogrn", c.ogrn], ["confirm.ogrnip", c.ogrnip],
        ["confirm.issuer", c.issuer],
        ["confirm.validity", `${shortDate(c.not_before)} — ${shortDate(c.not_after)}`],
        ["confirm.algorithm", c.algorithm],
      ];
      card.append(el("dl", {}, ...rows.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v as string)])));
      if (sign.unfit) card.append(el("p", { class: "unfit finding-warning", "data-unfit": sign.unfit.code }, el("strong", {}, t("consent.unfit")), " ", sign.unfit.message));
      if (sign.findings.length) {
        card.append(el("ul", { class: "findings" }, ...sign.findings.map((f) => el("li", { class: `finding-${f.severity}`, "data-finding": f.code }, f.message))));
      } else if (!sign.unfit) {
        card.append(el("p", { class: "ok" }, t("confirm.noFindings")));
      }
    } else {
      card.append(el("p", { id: "consent-unreadable", class: "finding-error" }, t("consent.unreadable")));
    }
    section.append(card, el("h3", {}, t("consent.what")));
    const s = sign.shown;
    if (s.kind === "text") section.append(el("pre", { id: "consent-text", class: "document", tabindex: "0", "aria-label": t("consent.what") }, s.text));
    else if (s.kind === "bytes") section.append(el("p", { id: "consent-bytes", class: "digest" }, t("consent.bytes", { length: s.length, digest: s.digest })));
    else section.append(el("p", { id: "consent-digest", class: "digest" }, t("consent.digest", { digest: s.digest })));
    section.append(el("p", { id: "consent-sign-type" }, `${t("consent.signType")}: ${t(`consent.signType.${sign.sign_type}` as Key)}`));

    if (sign.page_pin) {
      section.append(el("p", { id: "consent-page-pin", role: "note" }, t("consent.pagePin")));
    } else if (sign.pin.on_reader) {
      section.append(el("p", { id: "consent-pin-pad", class: "warning", role: "note" }, t("consent.pinOnReader")));
    } else {
      pin = el("input", { id: "consent-pin", type: "password", autocomplete: "off", inputmode: "numeric" }) as HTMLInputElement;
      section.append(el("label", { class: "field", for: "consent-pin" }, el("span", {}, t("consent.pin")), pin));
      const input = pin;
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") allow.click(); });
    }
    const p = sign.pin;
    if (!p.on_reader) {
      section.append(el("p", { id: "consent-tries", "data-tries-left": String(p.tries_left) }, p.tries_left === null || p.max_tries === null
        ? t("confirm.triesUncounted") : t("confirm.triesLeft", { n: p.tries_left, max: p.max_tries })));
    }
    if (p.last_try) {
      lastTry = el("input", { id: "consent-last-try", type: "checkbox" }) as HTMLInputElement;
      section.append(el("p", { id: "consent-last-try-warning", class: "warning" }, t("confirm.lastTry")),
        el("label", { class: "choice", for: "consent-last-try" }, lastTry, " ", t("confirm.lastTryConsent")));
    }
    const blocked = !c || sign.findings.some((f) => f.severity === "error");
    if (blocked) {
      allow.disabled = true;
      if (c) section.append(el("p", { id: "consent-blocked", class: "finding-error" }, t("consent.blocked")));
    }
  }

  const say = (key: Key, input: HTMLInputElement): void => {
    problem.textContent = t(key);
    problem.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "consent-problem");
    input.focus();
  };
  allow.addEventListener("click", async () => {
    if (shown?.id !== view.id) return;
    if (pin && !pinAcceptable(pin.value)) { say("consent.pinProblem", pin); return; }
    if (lastTry && !lastTry.checked) { say("consent.lastTryProblem", lastTry); return; }
    // The PIN leaves its field for this one call.
    const value = pin ? pin.value : null;
    if (pin) pin.value = "";
    allow.disabled = true;
    h.clearError();
    try {
      await api.consentAnswer(view.id, true, value, lastTry?.checked ?? false);
      leave();
      h.back();
    } catch (e) {
      allow.disabled = false;
      if (asUiError(e).code === "consent-gone") { leave(); h.back(); }
      h.showError(e);
    }
  });
  refuse.addEventListener("click", async () => {
    await refuseConsent();
    h.back();
  });
  section.addEventListener("keydown", (e) => { if (e.key === "Escape") refuse.click(); });
  section.append(problem, el("div", { class: "consent-buttons" }, allow, " ", refuse));
  h.screen.replaceChildren(section);
  // The keyboard starts where something is to be typed, else on the heading: never on the
  // button that says yes, so that a stray Enter allows nothing.
  if (pin) pin.focus();
  else {
    const title = section.querySelector("#consent-title") as HTMLElement;
    title.tabIndex = -1;
    title.focus();
  }
}
