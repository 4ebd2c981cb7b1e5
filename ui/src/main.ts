// The screens of the desktop app. Plain DOM: native buttons, inputs and labels, so that every
// control works from the keyboard and has an accessible name.
import { api, asUiError, onCardsChanged, onModulesChanged, onProgress } from "./api";
import { signScreen } from "./sign";
import { verifyScreen } from "./verify";
import type { AnchorView, CertificateView, ModulesView, PinAction, PinTargetView, Purpose, ReaderInfo, Step, TokenView, TrustView } from "./api";
import { language, setLanguage, t, type Key, type Language } from "./i18n";
import { consentActive, redrawConsent, refuseConsent, watchConsent } from "./consent";
import { mergeCertificates, pinAcceptable, pinFormProblem, pinPlaces, shortDate, stepStates, usable, type PinFormProblem } from "./logic";

type Screen = "account" | "confirm" | "register" | "sign" | "verify" | "pin" | "history" | "diagnostics" | "settings";

const screen = document.getElementById("screen") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const errorBox = document.getElementById("error") as HTMLElement;
const portalLine = document.getElementById("portal-line") as HTMLElement;
const languageSelect = document.getElementById("language") as HTMLSelectElement;

let current: Screen = "account";
let readers: ReaderInfo[] = [];
let progress: Step | null = null;
/** The card and action the PIN screen opens with, when another screen sends the person there. */
let pinPreset: { reader: string; action: PinAction } | null = null;
/** What the screen being drawn does once it is in the window (where it can take the focus). */
let onShown: (() => void) | null = null;

/** Creates an element with attributes and children. */
function h(tag: string, attrs: Record<string, string | boolean> = {}, ...children: Array<Node | string>): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false) continue;
    el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children);
  return el;
}

/**
 * Whether a screen's element is still wanted: in the window, or not yet put there (a screen is
 * built before it is shown, and an answer can come in between). Once it has left the window, its
 * listeners stop.
 */
function whileShown(el: HTMLElement): () => boolean {
  let seen = false;
  return () => {
    if (el.isConnected) seen = true;
    return el.isConnected || !seen;
  };
}

function button(id: string, text: string, onClick: () => void, kind = "primary"): HTMLButtonElement {
  const b = h("button", { id, type: "button", class: kind }, text) as HTMLButtonElement;
  b.addEventListener("click", onClick);
  return b;
}

function field(id: string, label: string, type = "text", value = ""): [HTMLElement, HTMLInputElement] {
  const input = h("input", { id, type, value, autocomplete: type === "password" ? "off" : "on" }) as HTMLInputElement;
  return [h("label", { class: "field", for: id }, h("span", {}, label), input), input];
}

function showError(e: unknown): void {
  const err = asUiError(e);
  errorBox.hidden = false;
  errorBox.textContent = err.message;
  errorBox.dataset.code = err.code;
  // Where the eyes and the screen reader are: the alert takes focus and comes into view.
  errorBox.focus();
  errorBox.scrollIntoView({ block: "nearest" });
}

function clearError(): void {
  errorBox.hidden = true;
  errorBox.textContent = "";
  delete errorBox.dataset.code;
}

function go(next: Screen): void {
  // Going to another screen while the browser's question is shown refuses it.
  if (consentActive()) void refuseConsent();
  // Leaving the Verify screen: drops go to the Sign screen's list again.
  if (current === "verify" && next !== "verify") void api.verifyShown(false).catch(() => undefined);
  current = next;
  clearError();
  renderNav();
  void render();
}

function renderNav(): void {
  nav.setAttribute("aria-label", t("nav.label"));
  const items: Array<[Screen, Key]> = [
    ["account", "nav.account"],
    ["confirm", "nav.confirm"],
    ["register", "nav.register"],
    ["sign", "nav.sign"],
    ["verify", "nav.verify"],
    ["pin", "nav.pin"],
    ["history", "nav.history"],
    ["diagnostics", "nav.diagnostics"],
    ["settings", "nav.settings"],
  ];
  nav.replaceChildren(
    ...items.map(([id, key]) => {
      const b = button(`nav-${id}`, t(key), () => go(id), "");
      if (id === current) b.setAttribute("aria-current", "page");
      return b;
    }),
  );
  (document.getElementById("app-title") as HTMLElement).textContent = t("app.title");
  (document.getElementById("lang-label") as HTMLElement).textContent = t("lang.label");
  document.title = t("app.title");
}

async function renderPortalLine(): Promise<void> {
  const info = await api.portal();
  portalLine.textContent = t("portal.line", { portal: info.sandbox ? `${info.portal} — ${t("portal.sandbox")}` : info.portal });
}

/** Counts the screens asked for: a screen that took longer to make than the next one asked for is dropped. */
let renders = 0;

async function render(): Promise<void> {
  const asked = ++renders;
  await renderPortalLine().catch(showError);
  const content = await (async () => {
    switch (current) {
      case "account": return accountScreen();
      case "confirm": return confirmScreen("confirm-identity");
      case "register": return confirmScreen("register-organisation");
      case "sign": return signScreen({ showError, clearError });
      case "verify": return verifyScreen({ showError, clearError });
      case "pin": return pinScreen();
      case "history": return historyScreen();
      case "diagnostics": return diagnosticsScreen();
      case "settings": return settingsScreen();
    }
  })().catch((e) => { showError(e); return h("div"); });
  // The person went on to another screen while this one was being made (the account screen
  // waits for the portal): the later one is the one to show.
  if (asked !== renders) return;
  // The browser's question came while this screen was being made: it keeps the screen.
  if (consentActive()) return;
  screen.replaceChildren(content);
  const shown = onShown;
  onShown = null;
  shown?.();
}

async function accountScreen(): Promise<HTMLElement> {
  try {
    const account = await api.account();
    const orgs = account.organisations.length
      ? account.organisations.map((o) => `${o.name} (${t("confirm.ogrn")} ${o.ogrn})`).join("; ")
      : t("account.none");
    return h("section", { "aria-labelledby": "account-title" },
      h("h2", { id: "account-title" }, t("account.title")),
      h("div", { class: "card" },
        h("h3", { id: "account-name" }, `${account.person.surname} ${account.person.given_names}`),
        h("dl", {},
          h("dt", {}, t("account.level")), h("dd", { id: "account-level", "data-level": account.level }, t(`account.level.${account.level}` as Key)),
          h("dt", {}, t("account.snils")), h("dd", {}, account.person.snils ?? "—"),
          h("dt", {}, t("account.organisations")), h("dd", { id: "account-organisations" }, orgs),
        ),
      ),
      button("logout", t("account.logout"), async () => { await api.logout().catch(showError); go("account"); }, "secondary"),
    );
  } catch (e) {
    const err = asUiError(e);
    if (err.code !== "not-logged-in" && err.code !== "unauthorised") showError(e);
    return loginScreen();
  }
}

async function loginScreen(): Promise<HTMLElement> {
  const info = await api.portal();
  const [loginField, login] = field("login-name", t("login.login"));
  const [passwordField, password] = field("login-password", t("login.password"), "password");
  const status = h("p", { id: "sandbox-status", "aria-live": "polite" });
  const submit = async (): Promise<void> => {
    clearError();
    try {
      await api.login(login.value, password.value);
      password.value = "";
      go("account");
    } catch (e) {
      showError(e);
    }
  };
  password.addEventListener("keydown", (e) => { if (e.key === "Enter") void submit(); });
  const parts: Node[] = [h("h2", { id: "login-title" }, t("login.title"))];
  if (info.sandbox) {
    parts.push(h("p", {}, t("login.sandbox.note")));
    if (info.sandbox_running) status.textContent = t("login.sandbox.started", { portal: info.portal });
    parts.push(button("sandbox-start", t("login.sandbox.start"), async () => {
      try {
        const started = await api.startSandbox();
        status.textContent = t("login.sandbox.started", { portal: started.portal });
        await renderPortalLine();
      } catch (e) { showError(e); }
    }, "secondary"), status);
  }
  parts.push(loginField, passwordField, button("login-submit", t("login.submit"), () => void submit()));
  return h("section", { "aria-labelledby": "login-title" }, ...parts);
}

function readerList(): HTMLElement {
  if (!readers.length) return h("p", { id: "readers" }, t("confirm.noReaders"));
  return h("ul", { id: "readers", "aria-live": "polite" },
    ...readers.map((r) => h("li", { "data-reader": r.reader, "data-card": r.card ? r.card.kind : "none" },
      `${r.reader}: ${r.card ? t(`confirm.kind.${r.card.kind}` as Key) : t("confirm.noCard")}`)));
}

/** The PKCS#11 tokens beside the readers; null while the modules load. */
function tokenList(tokens: TokenView[] | null): HTMLElement {
  if (tokens === null) return h("p", { id: "tokens", "data-loading": "true" }, t("confirm.tokensLoading"));
  if (!tokens.length) return h("p", { id: "tokens" }, t("confirm.noTokens"));
  return h("ul", { id: "tokens", "aria-live": "polite" },
    ...tokens.map((k) => h("li", { "data-token": k.label, "data-module": k.module },
      t("confirm.tokenLine", { label: k.label, module: k.module }))));
}

function certificateCard(c: CertificateView, index: number, onChoose: () => void): HTMLElement {
  // The same card can sit in two readers, and a key can be on a PKCS#11 token: each certificate
  // says where it is.
  const where: Array<[Key, string | null]> = c.tier === "pkcs11"
    ? [["confirm.token", c.reader], ["confirm.module", c.module],
      ["confirm.pinEntry", c.pin_on_reader ? t("confirm.pinEntry.reader") : null]]
    : [["confirm.reader", c.reader]];
  const rows: Array<[Key, string | null]> = [
    ...where,
    ["confirm.owner", [c.surname, c.given_names].filter(Boolean).join(" ") || c.subject],
    ["confirm.organisation", c.organisation],
    ["confirm.snils", c.snils], ["confirm.inn", c.inn], ["confirm.innLe", c.inn_le],
    ["confirm.ogrn", c.ogrn], ["confirm.ogrnip", c.ogrnip],
    ["confirm.issuer", c.issuer],
    ["confirm.validity", `${shortDate(c.not_before)} — ${shortDate(c.not_after)}`],
    ["confirm.algorithm", c.algorithm],
  ];
  const title = h("h3", { id: `cert-${index}-title` }, c.subject ?? c.sha256.slice(0, 16));
  if (c.remembered) title.append(" ", h("span", { class: "remembered", "data-remembered": "true" }, t("sign.remembered")));
  const card = h("article", { class: "card certificate", "data-sha256": c.sha256, "data-reader": c.reader, "data-tier": c.tier, "aria-labelledby": `cert-${index}-title` },
    title,
    h("dl", {}, ...rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v as string)])),
  );
  if (c.unfit) {
    card.append(h("p", { class: "unfit finding-error", id: `cert-${index}-unfit`, "data-unfit": c.unfit.code },
      h("strong", {}, t("confirm.unfit")), " ", c.unfit.message));
  }
  if (c.findings.length) {
    card.append(h("ul", { class: "findings" }, ...c.findings.map((f) => h("li", { class: `finding-${f.severity}`, "data-finding": f.code }, f.message))));
  } else if (!c.unfit) {
    card.append(h("p", { class: "ok" }, t("confirm.noFindings")));
  }
  if (usable(c)) {
    const choose = button(`choose-${index}`, t("confirm.choose"), onChoose);
    // Several cards give several such buttons: each names its certificate to a screen reader.
    choose.setAttribute("aria-describedby", `cert-${index}-title`);
    card.append(choose);
  }
  return card;
}

async function confirmScreen(purpose: Purpose): Promise<HTMLElement> {
  const titleKey: Key = purpose === "confirm-identity" ? "confirm.title" : "register.title";
  const section = h("section", { "aria-labelledby": "confirm-title" }, h("h2", { id: "confirm-title" }, t(titleKey)));
  readers = await api.readers();
  const certsBox = h("div", { id: "certificates" });
  const force = h("input", { id: "force", type: "checkbox" }) as HTMLInputElement;
  section.append(h("h3", {}, t("confirm.readers")), readerList(), h("h3", {}, t("confirm.tokens")), tokenList(null),
    h("h3", {}, t("confirm.certificates")), certsBox, h("label", { for: "force" }, force, " ", t("confirm.force")));
  // The cards' certificates are read at once; the PKCS#11 tokens' join them when the modules are
  // loaded (which can take a while after start-up), without holding the cards up.
  let cardViews: CertificateView[] = [];
  let tokenViews: CertificateView[] = [];
  const shown = whileShown(section);
  const drawCertificates = (): void => {
    const views = mergeCertificates(cardViews, tokenViews);
    // Re-render only when the certificates changed: a card coming or going in another reader must
    // not replace the button under the user's pointer.
    const signature = views.map((c) => `${c.reader}/${c.sha256}/${c.unfit?.code ?? ""}/${c.findings.map((f) => f.code).join(",")}`).join(";");
    if (signature === certsBox.dataset.signature) return;
    certsBox.dataset.signature = signature;
    certsBox.replaceChildren(...views.map((c, i) => certificateCard(c, i, () => void prepare(c))));
    // The certificate chosen last is offered first: its button takes the focus (Enter chooses
    // it again), unless the person is already at work elsewhere on the screen. The list can be
    // drawn before the screen is in the window, where nothing takes the focus: then it waits.
    const last = views.findIndex((c) => c.remembered && usable(c));
    if (last < 0) return;
    const offer = (): void => {
      if (!section.isConnected) {
        if (shown()) setTimeout(offer, 50);
        return;
      }
      const at = document.activeElement;
      const idle = !at || at === document.body || at.id.startsWith("nav-") || certsBox.contains(at);
      if (idle) document.getElementById(`choose-${last}`)?.focus();
    };
    offer();
  };
  const showCertificates = async (): Promise<void> => {
    const views: CertificateView[] = [];
    for (const r of readers.filter((r) => r.card && r.card.kind !== "unknown")) {
      // A card pulled while it is being read is not an error here: the live list follows it.
      views.push(...(await api.certificates(r.reader, purpose).catch((e) => {
        if (!["card-removed", "no-card", "card-not-responding"].includes(asUiError(e).code)) showError(e);
        return [];
      })));
    }
    cardViews = views;
    drawCertificates();
  };
  /** Only the latest asking is drawn: an older answer that comes late is dropped. */
  let tokensAsked = 0;
  const alive = whileShown(section);
  const showTokens = async (): Promise<void> => {
    const asked = ++tokensAsked;
    try {
      const [tokens, views] = await Promise.all([api.tokens(), api.tokenCertificates(purpose)]);
      if (asked !== tokensAsked || !alive()) return;
      section.querySelector("#tokens")?.replaceWith(tokenList(tokens));
      tokenViews = views;
      drawCertificates();
    } catch (e) {
      if (asked === tokensAsked && alive()) showError(e);
    }
  };
  const prepare = async (c: CertificateView): Promise<void> => {
    clearError();
    progress = null;
    const progressList = h("ol", { id: "progress", class: "progress", "aria-live": "polite" });
    const drawProgress = (): void => {
      progressList.replaceChildren(...stepStates(progress).map((s) => h("li", { class: s.state, "data-step": s.step }, t(`step.${s.step}` as Key))));
    };
    drawProgress();
    const stop = await onProgress((step) => { progress = step; drawProgress(); });
    section.replaceChildren(h("h2", { id: "confirm-title" }, t(titleKey)), progressList);
    try {
      const prepared = await api.prepare(purpose, c.reader, c.sha256, force.checked);
      // A PIN pad takes the PIN on the reader: no field here, and none is sent.
      const onReader = prepared.pin_on_reader;
      const [pinField, pin] = field("pin", t("confirm.pin"), "password");
      pin.setAttribute("inputmode", "numeric");
      const tries = h("p", { id: "pin-tries" }, prepared.tries_left === null || prepared.max_tries === null
        ? t("confirm.triesUncounted")
        : t("confirm.triesLeft", { n: prepared.tries_left, max: prepared.max_tries }));
      const consent = h("input", { id: "last-try", type: "checkbox" }) as HTMLInputElement;
      const sign = button("sign", t("confirm.sign"), async () => {
        if (!onReader && !pinAcceptable(pin.value)) { pin.focus(); return; }
        clearError();
        sign.disabled = true;
        const value = onReader ? null : pin.value;
        pin.value = "";
        try {
          const result = await api.sign(value, consent.checked);
          const text = result.organisation
            ? t("confirm.registered", { name: result.organisation.name, ogrn: result.organisation.ogrn })
            : t("confirm.confirmed");
          section.append(h("p", { id: "result", class: "result ok", role: "status", "data-level": result.level }, text));
          section.append(button("again", t("confirm.again"), () => go(current), "secondary"));
        } catch (e) {
          const err = asUiError(e);
          if (err.kept) {
            section.append(h("p", { id: "result", class: "result warn", role: "status" }, t("confirm.kept")));
          }
          showError(e);
          section.append(button("again", t("confirm.again"), () => go(current), "secondary"));
          if (err.code === "pin-blocked") section.append(" ", unblockButton(c.reader));
        } finally {
          stop();
        }
      });
      const parts: Node[] = [h("h3", {}, t("confirm.document")), h("pre", { id: "document", class: "document", tabindex: "0" }, prepared.document),
        onReader ? h("p", { id: "pin-pad", class: "warning", role: "note" }, t("confirm.pinOnReader")) : pinField, tries];
      if (prepared.last_try) {
        parts.push(h("p", { class: "warning", id: "last-try-warning" }, t("confirm.lastTry")), h("label", { for: "last-try" }, consent, " ", t("confirm.lastTryConsent")));
      }
      parts.push(sign, button("cancel", t("confirm.cancel"), async () => { await api.cancel(); stop(); go(current); }, "secondary"));
      section.append(...parts);
      pin.addEventListener("keydown", (e) => { if (e.key === "Enter") sign.click(); });
      if (onReader) sign.focus(); else pin.focus();
    } catch (e) {
      stop();
      showError(e);
      section.append(button("again", t("confirm.again"), () => go(current), "secondary"));
      if (asUiError(e).code === "pin-blocked") section.append(" ", unblockButton(c.reader));
    }
  };
  await showCertificates();
  void showTokens();
  // Readers and cards come and go live; the list follows. A token behind a module can come with a
  // card (OpenSC's module reads cards), so the tokens are asked again too.
  const unlisten = await onCardsChanged(async (list) => {
    if (!section.isConnected) { unlisten(); return; }
    readers = list;
    const old = section.querySelector("#readers");
    if (old) { old.replaceWith(readerList()); await showCertificates(); void showTokens(); }
  });
  const unlistenModules = await onModulesChanged(() => {
    if (!alive()) { unlistenModules(); return; }
    if (section.querySelector("#readers")) void showTokens();
  });
  return section;
}

/** Opens the PIN screen on `reader`, ready to unblock its PIN with the PUK. */
function unblockButton(reader: string): HTMLButtonElement {
  return button("confirm-unblock", t("confirm.unblock"), () => {
    pinPreset = { reader, action: "unblock" };
    go("pin");
  }, "secondary");
}

/**
 * Changing the PIN, or unblocking it with the PUK: the card and the action first, then the tries
 * left of the code that authorises it, read from the card before anything is typed, then the
 * codes. The codes leave their fields once, for one call, and the fields are emptied as they go.
 */
async function pinScreen(): Promise<HTMLElement> {
  const preset = pinPreset;
  pinPreset = null;
  let chosenReader: string | null = preset?.reader ?? null;
  let action: PinAction = preset?.action ?? "change";
  const section = h("section", { "aria-labelledby": "pin-title" },
    h("h2", { id: "pin-title" }, t("pin.title")), h("p", {}, t("pin.intro")));
  const choiceBox = h("div", { id: "pin-choice" });
  const formBox = h("div", { id: "pin-form" });
  section.append(choiceBox, formBox);
  readers = await api.readers();
  // The PKCS#11 tokens are listed beside the cards. Sent here for a token, the screen waits for
  // them (the modules may still be loading); otherwise they join the choice when they come.
  let tokens: TokenView[] = preset ? await api.tokens().catch(() => []) : [];

  const dropForm = (): void => { formBox.replaceChildren(); };

  const drawChoice = (): void => {
    const known = pinPlaces(readers, tokens);
    // Drawn anew only when the cards or tokens changed: a card coming or going in another reader
    // must not take the form or the keyboard away from the person.
    const signature = known.map((p) => `${p.place}/${p.card ?? "pkcs11"}`).join(";");
    if (signature === choiceBox.dataset.signature) return;
    choiceBox.dataset.signature = signature;
    const focused = document.activeElement?.id;
    if (!known.length) {
      chosenReader = null;
      dropForm();
      choiceBox.replaceChildren(h("p", { id: "pin-no-card" }, t("pin.noCard")));
      return;
    }
    if (!chosenReader || !known.some((p) => p.place === chosenReader)) {
      chosenReader = known[0].place;
      dropForm();
    }
    const select = h("select", { id: "pin-reader" }, ...known.map((p) =>
      h("option", { value: p.place, "data-tier": p.card ? "apdu" : "pkcs11" },
        p.card ? `${p.place}: ${t(`confirm.kind.${p.card}` as Key)}` : t("pin.token", { label: p.place })))) as HTMLSelectElement;
    select.value = chosenReader;
    select.addEventListener("change", () => { chosenReader = select.value; clearError(); dropForm(); });
    const radio = (value: PinAction, key: Key): HTMLElement => {
      const input = h("input", { type: "radio", name: "pin-action", id: `pin-action-${value}`, value, checked: action === value }) as HTMLInputElement;
      input.addEventListener("change", () => { if (input.checked) { action = value; clearError(); dropForm(); } });
      return h("label", { class: "choice", for: `pin-action-${value}` }, input, " ", t(key));
    };
    choiceBox.replaceChildren(
      h("label", { class: "field", for: "pin-reader" }, h("span", {}, t("pin.reader")), select),
      h("fieldset", { class: "choices" }, h("legend", {}, t("pin.action")),
        radio("change", "pin.action.change"), radio("unblock", "pin.action.unblock")),
      button("pin-continue", t("pin.continue"), () => void readTarget()),
    );
    if (focused) document.getElementById(focused)?.focus();
  };

  /** Reads the counter of the code that authorises the action and shows the form for it. */
  const readTarget = async (): Promise<void> => {
    clearError();
    dropForm();
    if (!chosenReader) return;
    try {
      drawForm(await api.pinTarget(chosenReader, action), true);
    } catch (e) {
      showError(e);
    }
  };

  /** `focus`: the keyboard goes to the first field (not after an error, whose alert has it). */
  const drawForm = (target: PinTargetView, focus: boolean): void => {
    const a = target.action;
    const [codeField, code] = field("pin-code", t(a === "change" ? "pin.code.change" : "pin.code.unblock"), "password");
    const [newField, newPin] = field("pin-new", t("pin.new"), "password");
    const [againField, again] = field("pin-new-again", t("pin.newAgain"), "password");
    const consent = h("input", { id: "pin-last-try", type: "checkbox" }) as HTMLInputElement;
    const problem = h("p", { id: "pin-problem", class: "warning", "aria-live": "assertive", hidden: true });
    const inputs: Record<PinFormProblem, HTMLInputElement> = { code, new: newPin, mismatch: newPin, consent };
    const say = (kind: PinFormProblem): void => {
      const key: Key = kind === "code" ? (a === "change" ? "pin.problem.code.change" : "pin.problem.code.unblock") : `pin.problem.${kind}`;
      problem.textContent = t(key);
      problem.dataset.problem = kind;
      problem.hidden = false;
      for (const input of Object.values(inputs)) { input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby"); }
      inputs[kind].setAttribute("aria-invalid", "true");
      inputs[kind].setAttribute("aria-describedby", "pin-problem");
      inputs[kind].focus();
    };
    const submit = button("pin-submit", t(a === "change" ? "pin.submit.change" : "pin.submit.unblock"), async () => {
      const kind = pinFormProblem({ code: code.value, newPin: newPin.value, again: again.value, lastTry: target.last_try, consent: consent.checked });
      if (kind) {
        // Both new-PIN fields are typed again together: nothing was sent.
        if (kind === "mismatch") { newPin.value = ""; again.value = ""; }
        say(kind);
        return;
      }
      problem.hidden = true;
      clearError();
      submit.disabled = true;
      // The codes go to Rust in this one call and nowhere else; the fields are empty before it
      // returns, whatever it returns.
      const done = api.pinApply(target.reader, a, code.value, newPin.value, again.value, consent.checked);
      code.value = "";
      newPin.value = "";
      again.value = "";
      try {
        await done;
        const back = button("pin-back", t("pin.back"), () => go("pin"), "secondary");
        formBox.replaceChildren(
          h("p", { id: "pin-result", class: "result ok", role: "status", "data-done": a }, t(a === "change" ? "pin.changed" : "pin.unblocked")),
          back);
        back.focus();
      } catch (e) {
        showError(e);
        // A wrong code spent a try: the form shows what is left now (with the last-try warning
        // when it comes), or goes when the card can no longer do it.
        try { drawForm(await api.pinTarget(target.reader, a), false); } catch { dropForm(); }
      }
    });
    for (const input of [code, newPin, again]) {
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit.click(); });
    }
    const parts: Array<Node | string> = [
      h("p", { id: "pin-tries", "data-tries-left": String(target.tries_left) },
        target.tries_left === null || target.max_tries === null
          ? t("confirm.triesUncounted")
          : t(a === "change" ? "pin.tries.change" : "pin.tries.unblock", { n: target.tries_left, max: target.max_tries })),
    ];
    // On the last try the warning and the consent come before the fields: read before typing.
    if (target.last_try) {
      parts.push(h("p", { class: "warning", id: "pin-last-try-warning" }, t(a === "change" ? "pin.lastTry.change" : "pin.lastTry.unblock")),
        h("label", { class: "choice", for: "pin-last-try" }, consent, " ", t("pin.lastTryConsent")));
    }
    parts.push(codeField, newField, againField, problem, submit, " ", button("pin-cancel", t("pin.cancel"), () => { dropForm(); document.getElementById("pin-continue")?.focus(); }, "secondary"));
    formBox.replaceChildren(h("div", { class: "card", "data-action": a, "data-reader": target.reader }, ...parts));
    if (focus) code.focus();
  };

  drawChoice();
  // Sent here for this card: its counter is read once the screen is shown, so that the keyboard
  // can go to the first field.
  if (preset && chosenReader === preset.reader) onShown = () => void readTarget();
  /** Only the latest asking is drawn: an older answer that comes late is dropped. */
  let tokensAsked = 0;
  const alive = whileShown(section);
  const showTokens = async (): Promise<void> => {
    const asked = ++tokensAsked;
    const list = await api.tokens().catch(() => null);
    if (list === null || asked !== tokensAsked || !alive()) return;
    tokens = list;
    drawChoice();
  };
  void showTokens();
  // Readers and cards come and go live; the choice follows, and the tokens are asked again.
  const unlisten = await onCardsChanged((list) => {
    if (!section.isConnected) { unlisten(); return; }
    readers = list;
    drawChoice();
    void showTokens();
  });
  const unlistenModules = await onModulesChanged(() => {
    if (!alive()) { unlistenModules(); return; }
    void showTokens();
  });
  return section;
}

async function historyScreen(): Promise<HTMLElement> {
  const list = await api.outbox();
  const section = h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, t("history.title")));
  if (!list.length) {
    section.append(h("p", { id: "outbox-empty" }, t("history.empty")));
    return section;
  }
  section.append(h("ul", { id: "outbox" }, ...list.map((i) => h("li", {}, `${i.created_at} — ${i.purpose} — ${i.id.slice(0, 12)}`))),
    button("outbox-send", t("history.send"), async () => { await api.outboxSend().catch(showError); go("history"); }));
  return section;
}

async function diagnosticsScreen(): Promise<HTMLElement> {
  const table = h("table", { id: "diagnostics" });
  const run = async (): Promise<void> => {
    table.replaceChildren(h("tr", {}, h("td", {}, t("common.working"))));
    const checks = await api.diagnose();
    table.replaceChildren(...checks.map((c) => h("tr", { "data-check": c.check, "data-status": c.status },
      h("td", { class: c.status }, t(`diag.status.${c.status}` as Key)), h("th", { scope: "row" }, t(`diag.check.${c.check}` as Key)), h("td", {}, c.detail), h("td", {}, c.hint))));
  };
  void run().catch(showError);
  return h("section", { "aria-labelledby": "diag-title" }, h("h2", { id: "diag-title" }, t("diag.title")), button("diag-run", t("diag.run"), () => void run().catch(showError), "secondary"), table);
}

/** A trusted certificate as the confirmation showed it. */
function anchorDetails(a: AnchorView, id: string): HTMLElement {
  const rows: Array<[Key, string]> = [
    ["trust.subject", a.subject], ["trust.issuer", a.issuer],
    ["trust.validity", `${shortDate(a.not_before)} — ${shortDate(a.not_after)}`],
    ["trust.sha256", a.sha256], ["trust.path", a.path],
  ];
  return h("dl", { id, class: "anchor" }, ...rows.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

async function settingsScreen(): Promise<HTMLElement> {
  const settings = await api.settings();
  const [portalField, portal] = field("settings-portal", t("settings.portal"), "text", settings.portal ?? "");
  const saved = h("p", { id: "settings-saved", "aria-live": "polite" });
  // What the app trusts is not a field here: Rust opens the file dialog and asks for the
  // confirmation itself; this screen only shows the result and starts the choice.
  const trustBox = h("div", { id: "trust" });
  const drawTrust = (view: TrustView): void => {
    const focused = document.activeElement?.id;
    const ca = h("section", { class: "card", "aria-labelledby": "trust-ca-title" },
      h("h4", { id: "trust-ca-title" }, t("settings.ca")),
      view.extra_ca ? anchorDetails(view.extra_ca, "trust-ca") : h("p", { id: "trust-ca" }, t("settings.ca.none")),
      button("trust-ca-choose", t("settings.ca.choose"), () => void act(api.chooseCa), "secondary"));
    if (view.extra_ca) ca.append(" ", button("trust-ca-remove", t("settings.ca.remove"), () => void act(api.removeCa), "secondary"));
    const pkiView = view.sandbox_pki;
    const dir = pkiView.chosen ? pkiView.dir : `${pkiView.dir} (${t("settings.pki.default")})`;
    const pki = h("section", { class: "card", "aria-labelledby": "trust-pki-title" },
      h("h4", { id: "trust-pki-title" }, t("settings.sandboxPki")),
      h("p", { id: "trust-pki-dir" }, `${t("settings.pki.dir")}: ${dir}`),
      pkiView.root ? anchorDetails(pkiView.root, "trust-pki-root") : h("p", { id: "trust-pki-root", class: "warn" }, t("settings.pki.noRoot")),
      button("trust-pki-choose", t("settings.pki.choose"), () => void act(api.chooseSandboxPki), "secondary"));
    if (pkiView.chosen) pki.append(" ", button("trust-pki-reset", t("settings.pki.reset"), () => void act(api.resetSandboxPki), "secondary"));
    trustBox.replaceChildren(h("h3", {}, t("settings.trust.title")), h("p", {}, t("settings.trust.note")), ca, pki);
    // The buttons were drawn anew: keep the keyboard where it was.
    if (focused) document.getElementById(focused)?.focus();
  };
  const act = async (action: () => Promise<TrustView>): Promise<void> => {
    clearError();
    try { drawTrust(await action()); } catch (e) { showError(e); }
  };
  drawTrust(await api.trust());
  // The PKCS#11 modules are code the app loads: added and removed only through Rust's dialogs.
  const modulesBox = h("div", { id: "pkcs11" });
  const drawModules = (view: ModulesView): void => {
    const focused = document.activeElement?.id;
    const items = view.modules.map((m, i) => {
      const origin = t(`settings.pkcs11.origin.${m.origin}` as Key) + (m.found_by ? ` (${m.found_by})` : "");
      const state = m.state === "loaded" ? t("settings.pkcs11.loaded", { n: m.tokens.length })
        : m.state === "loading" ? t("settings.pkcs11.loading") : t("settings.pkcs11.failed");
      const item = h("li", { class: "card module", "data-module": m.path, "data-state": m.state, "data-origin": m.origin },
        h("strong", { id: `pkcs11-module-${i}`, class: "path" }, m.path), " — ", origin, ": ",
        h("span", { class: `module-state ${m.state === "failed" ? "warn" : ""}` }, state));
      if (m.tokens.length) {
        item.append(h("ul", { class: "tokens" }, ...m.tokens.map((k) => h("li", { "data-token": k.label }, `${k.label} (${k.serial})`))));
      }
      if (m.error) item.append(h("p", { class: "finding-error", "data-error": m.error.code }, m.error.message));
      if (m.origin === "added") {
        const remove = button(`pkcs11-remove-${i}`, t("settings.pkcs11.remove"), () => void actModules(() => api.removeModule(m.path)), "secondary");
        // Several modules give several such buttons: each names its module to a screen reader.
        remove.setAttribute("aria-describedby", `pkcs11-module-${i}`);
        item.append(" ", remove);
      }
      return item;
    });
    const parts: Node[] = [h("h3", {}, t("settings.pkcs11.title")), h("p", {}, t("settings.pkcs11.note"))];
    if (!view.discovery) parts.push(h("p", { id: "pkcs11-discovery-off" }, t("settings.pkcs11.discoveryOff")));
    parts.push(items.length ? h("ul", { id: "pkcs11-modules", "aria-live": "polite", "data-loading": String(view.loading) }, ...items)
      : h("p", { id: "pkcs11-modules", "data-loading": String(view.loading) }, view.loading ? t("settings.pkcs11.loading") : t("settings.pkcs11.none")));
    parts.push(button("pkcs11-add", t("settings.pkcs11.add"), () => void actModules(api.addModule), "secondary"));
    modulesBox.replaceChildren(...parts);
    if (focused) document.getElementById(focused)?.focus();
  };
  const actModules = async (action: () => Promise<ModulesView>): Promise<void> => {
    clearError();
    try { drawModules(await action()); } catch (e) { showError(e); }
  };
  drawModules(await api.modules());
  const alive = whileShown(modulesBox);
  const unlistenModules = await onModulesChanged(async () => {
    if (!alive()) { unlistenModules(); return; }
    try { drawModules(await api.modules()); } catch (e) { showError(e); }
  });
  return h("section", { "aria-labelledby": "settings-title" }, h("h2", { id: "settings-title" }, t("settings.title")), portalField,
    button("settings-save", t("settings.save"), async () => {
      try {
        await api.saveSettings({ language: language(), portal: portal.value || null });
        saved.textContent = t("settings.saved");
        await renderPortalLine();
      } catch (e) { showError(e); }
    }), saved, trustBox, modulesBox);
}

async function start(): Promise<void> {
  const settings = await api.settings().catch(() => null);
  const lang: Language = settings?.language ?? "ru";
  setLanguage(lang);
  languageSelect.value = lang;
  languageSelect.addEventListener("change", async () => {
    setLanguage(languageSelect.value as Language);
    const s = await api.settings();
    await api.saveSettings({ language: language(), portal: s.portal }).catch(showError);
    // The browser's question stays on the screen, in the new language.
    if (consentActive()) { renderNav(); redrawConsent(); } else go(current);
  });
  go("account");
  void watchConsent({ screen, showError, clearError, back: () => go(current) });
}

void start();
