// The Sign screen: files chosen in a native dialog (Rust opens it) or dropped on the window, each
// shown with its name, size and SHA-256 before anything is signed; attached or detached; a
// certificate (the one chosen last is preselected, a click chooses another); one PIN for the
// whole batch; a progress bar with a line per file; the signatures beside the files. A signature
// file already there is replaced only after a yes in a native dialog.
import { api, asUiError, onCardsChanged, onSignFiles, onSignProgress } from "./api";
import type { ReaderInfo, SignFile, SignKey, SignResult } from "./api";
import { t, type Key } from "./i18n";
import { mergeCertificates, pinAcceptable, shortDate, usable } from "./logic";

export interface SignHooks {
  showError: (e: unknown) => void;
  clearError: () => void;
}

function el(tag: string, attrs: Record<string, string | boolean> = {}, ...children: Array<Node | string>): HTMLElement {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false) continue;
    e.setAttribute(name, value === true ? "" : value);
  }
  e.append(...children);
  return e;
}

function button(id: string, text: string, onClick: () => void, kind = "primary"): HTMLButtonElement {
  const b = el("button", { id, type: "button", class: kind }, text) as HTMLButtonElement;
  b.addEventListener("click", onClick);
  return b;
}

/** A size as people read it: bytes, KiB or MiB. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return t("sign.bytes", { n: bytes });
  if (bytes < 1024 * 1024) return t("sign.kib", { n: (bytes / 1024).toFixed(1) });
  return t("sign.mib", { n: (bytes / 1024 / 1024).toFixed(1) });
}

export async function signScreen(hooks: SignHooks): Promise<HTMLElement> {
  const section = el("section", { "aria-labelledby": "sign-title" },
    el("h2", { id: "sign-title" }, t("sign.title")), el("p", {}, t("sign.intro")));
  let files: SignFile[] = await api.signFiles();
  let keys: SignKey[] = [];
  let chosen: string | null = null;
  /** The certificate was chosen by a click (it stays), not preselected. */
  let clicked = false;
  let running = false;

  const detached = el("input", { id: "sign-detached", type: "radio", name: "sign-form", value: "detached" }) as HTMLInputElement;
  const attached = el("input", { id: "sign-attached", type: "radio", name: "sign-form", value: "attached", checked: true }) as HTMLInputElement;
  const formBox = el("fieldset", { id: "sign-form", class: "choices" }, el("legend", {}, t("sign.form")),
    el("label", { for: "sign-attached", class: "choice" }, attached, " ", t("sign.form.attached")),
    el("label", { for: "sign-detached", class: "choice" }, detached, " ", t("sign.form.detached")));

  const filesBox = el("div", { id: "sign-files-box" });
  const drawFiles = (): void => {
    if (!files.length) {
      filesBox.replaceChildren(el("p", { id: "sign-files", "data-count": "0" }, t("sign.noFiles")));
      return;
    }
    const form = detached.checked ? "detached" : "attached";
    const rows = files.map((f, i) => {
      const out = f[form];
      return el("tr", { "data-name": f.name, "data-exists": out.exists ? "true" : "false" },
        el("th", { scope: "row", id: `sign-file-${i}` }, f.name),
        el("td", { class: "size" }, sizeText(f.size)),
        el("td", { class: "digest" }, el("code", {}, f.sha256)),
        el("td", {}, out.path, out.exists ? el("div", { class: "exists-note" }, t("sign.exists")) : ""));
    });
    filesBox.replaceChildren(el("table", { id: "sign-files", "data-count": String(files.length) },
      el("caption", {}, t("sign.files", { n: files.length })),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, t("sign.col.name")), el("th", { scope: "col" }, t("sign.col.size")),
        el("th", { scope: "col" }, t("sign.col.sha256")), el("th", { scope: "col" }, t("sign.col.signature")))),
      el("tbody", {}, ...rows)));
  };
  attached.addEventListener("change", drawFiles);
  detached.addEventListener("change", drawFiles);

  const pick = button("sign-pick", t("sign.pick.button"), async () => {
    hooks.clearError();
    try { files = await api.signPickFiles(); drawFiles(); } catch (e) { hooks.showError(e); }
  });
  const clear = button("sign-clear", t("sign.clear"), async () => {
    files = await api.signClear().catch((e) => { hooks.showError(e); return files; });
    drawFiles();
  }, "secondary");

  // The PIN for the whole batch, once the certificate is known (a PIN pad needs none).
  const pinBox = el("div", { id: "sign-pin-box" });
  const pin = el("input", { id: "sign-pin", type: "password", autocomplete: "off", inputmode: "numeric" }) as HTMLInputElement;
  const consent = el("input", { id: "sign-last-try", type: "checkbox" }) as HTMLInputElement;
  const chosenKey = (): SignKey | undefined => keys.find((k) => `${k.reader}/${k.sha256}` === chosen);
  const drawPin = (): void => {
    const key = chosenKey();
    if (!key) { pinBox.replaceChildren(); return; }
    const parts: Node[] = [];
    if (key.pin_on_reader) {
      parts.push(el("p", { id: "sign-pin-pad", class: "warning", role: "note" }, t("confirm.pinOnReader")));
    } else {
      parts.push(el("label", { class: "field", for: "sign-pin" }, el("span", {}, t("sign.pin")), pin));
    }
    parts.push(el("p", { id: "sign-tries" }, key.tries_left === null || key.max_tries === null
      ? t("confirm.triesUncounted") : t("confirm.triesLeft", { n: key.tries_left, max: key.max_tries })));
    if (key.last_try) {
      parts.push(el("p", { class: "warning", id: "sign-last-try-warning" }, t("confirm.lastTry")),
        el("label", { for: "sign-last-try" }, consent, " ", t("confirm.lastTryConsent")));
    }
    pinBox.replaceChildren(...parts);
  };

  const certsBox = el("fieldset", { id: "sign-certificates", class: "choices" });
  let remembered: string | null = null;
  const drawKeys = (): void => {
    const legend = el("legend", {}, t("sign.certificate"));
    const choices = keys.filter(usable);
    if (!choices.length) {
      certsBox.replaceChildren(legend, el("p", { id: "sign-no-certificates" }, t("sign.noCertificates")));
      chosen = null;
      drawPin();
      return;
    }
    // The one chosen by a click stays; else the one chosen last time; else the only one (decided
    // again at each drawing, as the cards' certificates come in one place at a time).
    const ids = choices.map((k) => `${k.reader}/${k.sha256}`);
    if (!clicked || !chosen || !ids.includes(chosen)) {
      clicked = false;
      const again = choices.find((k) => k.sha256 === remembered);
      chosen = again ? `${again.reader}/${again.sha256}` : choices.length === 1 ? ids[0] : null;
    }
    certsBox.replaceChildren(legend, ...choices.map((k, i) => {
      const id = `${k.reader}/${k.sha256}`;
      const radio = el("input", { id: `sign-cert-${i}`, type: "radio", name: "sign-cert", value: k.sha256, "data-sha256": k.sha256, "data-reader": k.reader, checked: id === chosen }) as HTMLInputElement;
      radio.addEventListener("change", () => { if (radio.checked) { chosen = id; clicked = true; drawPin(); } });
      const owner = [k.surname, k.given_names].filter(Boolean).join(" ") || k.subject || k.sha256.slice(0, 16);
      const details = [k.organisation, k.snils ? `${t("confirm.snils")} ${k.snils}` : null,
        `${shortDate(k.not_before)} — ${shortDate(k.not_after)}`, k.algorithm, k.reader].filter(Boolean).join(" · ");
      const label = el("label", { for: `sign-cert-${i}`, class: "choice certificate-choice", "data-sha256": k.sha256, "data-reader": k.reader },
        radio, " ", el("strong", {}, owner), " ", el("span", {}, details));
      if (k.sha256 === remembered) label.append(" ", el("span", { class: "remembered", "data-remembered": "true" }, t("sign.remembered")));
      const warnings = k.findings.filter((f) => f.severity === "warning");
      if (warnings.length) label.append(el("ul", { class: "findings" }, ...warnings.map((f) => el("li", { class: "finding-warning", "data-finding": f.code }, f.message))));
      return label;
    }));
    drawPin();
  };
  // Each card is read on its own (a slow card, or one another program is signing with, holds up
  // only its own certificates), the PKCS#11 tokens once their modules are loaded; the lists are
  // merged as they come. One reading per place at a time: cards coming and going in other readers
  // ask again while a slow card is read, and readings piled up behind it would each wait out the
  // card's deadline; an asking meanwhile makes one more reading once this one is done.
  const byPlace = new Map<string, SignKey[]>();
  const loading = new Set<string>();
  const again = new Set<string>();
  const TOKENS = "";
  const retried = new Map<string, number>();
  const merged = (): void => {
    const cards = [...byPlace.entries()].filter(([place]) => place !== TOKENS).flatMap(([, k]) => k);
    keys = mergeCertificates(cards, byPlace.get(TOKENS) ?? []);
    drawKeys();
  };
  const loadPlace = async (place: string): Promise<void> => {
    if (loading.has(place)) { again.add(place); return; }
    loading.add(place);
    try {
      do {
        again.delete(place);
        try {
          const got = await api.signCertificates(place === TOKENS ? null : place);
          byPlace.set(place, got.keys);
          remembered = got.remembered;
        } catch (e) {
          // A card that went away or does not answer is the live list's to follow, not an error
          // here; no smart card service is. A card still there that failed to read (busy with
          // another program, just inserted) is read again a little later, twice at most.
          byPlace.delete(place);
          if (asUiError(e).code === "pcsc-not-running") hooks.showError(e);
          const tries = (retried.get(place) ?? 0) + 1;
          if (place !== TOKENS && tries <= 2) {
            retried.set(place, tries);
            setTimeout(() => { if (alive()) void loadPlace(place); }, 1000);
          }
        }
        merged();
      } while (again.has(place));
    } finally {
      loading.delete(place);
    }
  };
  const loadKeys = async (list?: ReaderInfo[]): Promise<void> => {
    const readers = list ?? await api.readers().catch(() => [] as ReaderInfo[]);
    const cards = readers.filter((r) => r.card && r.card.kind !== "unknown").map((r) => r.reader);
    for (const place of [...byPlace.keys()]) {
      if (place !== TOKENS && !cards.includes(place)) byPlace.delete(place);
    }
    merged();
    await Promise.all([...cards, TOKENS].map(loadPlace));
  };

  const bar = el("progress", { id: "sign-progress", max: "1", value: "0", "aria-label": t("sign.progress") }) as HTMLProgressElement;
  const results = el("ol", { id: "sign-results", class: "progress", "aria-live": "polite" });
  const summary = el("p", { id: "sign-summary", role: "status" });
  const drawResult = (r: SignResult): void => {
    bar.max = r.total;
    let line = results.querySelector<HTMLElement>(`li[data-index='${r.index}']`);
    if (!line) {
      line = el("li", { "data-index": String(r.index) });
      results.append(line);
    }
    line.dataset.name = r.name;
    line.dataset.status = r.status;
    if (r.error) line.dataset.code = r.error.code; else delete line.dataset.code;
    const words: Record<SignResult["status"], Key> = {
      "signing": "sign.status.signing", "signed": "sign.status.signed",
      "failed": "sign.status.failed", "not-signed": "sign.status.notSigned",
    };
    line.textContent = t(words[r.status], { name: r.name, output: r.output });
    if (r.error) line.append(" — ", r.error.message);
    bar.value = results.querySelectorAll("li:not([data-status='signing'])").length;
  };

  const start = button("sign-start", t("sign.start"), async () => {
    if (running) return;
    hooks.clearError();
    const key = chosenKey();
    if (!files.length) { hooks.showError({ code: "batch-empty", message: t("sign.noFiles"), kept: false }); return; }
    if (!key) { hooks.showError({ code: "no-certificate", message: t("sign.chooseCertificate"), kept: false }); return; }
    if (!key.pin_on_reader && !pinAcceptable(pin.value)) { pin.focus(); return; }
    running = true;
    start.disabled = true;
    const value = key.pin_on_reader ? null : pin.value;
    pin.value = "";
    results.replaceChildren();
    summary.textContent = "";
    bar.max = files.length;
    bar.value = 0;
    const stop = await onSignProgress(drawResult);
    try {
      const done = await api.signStart(key.reader, key.sha256, detached.checked, value, consent.checked);
      done.files.forEach(drawResult);
      summary.textContent = t("sign.summary", { signed: done.signed, total: done.total });
      summary.dataset.signed = String(done.signed);
      summary.dataset.total = String(done.total);
      if (done.reauthenticated) summary.append(" ", t("sign.reauthenticated"));
      if (done.stopped) hooks.showError(done.stopped);
      files = await api.signFiles();
      drawFiles();
      remembered = key.sha256;
      void loadKeys();
    } catch (e) {
      hooks.showError(e);
    } finally {
      stop();
      running = false;
      start.disabled = false;
    }
  });
  pin.addEventListener("keydown", (e) => { if (e.key === "Enter") start.click(); });

  section.append(
    el("h3", {}, t("sign.filesTitle")), el("p", { id: "sign-drop" }, t("sign.drop")), pick, " ", clear, filesBox,
    formBox, certsBox, pinBox, start,
    el("h3", {}, t("sign.progressTitle")), bar, results, summary);
  drawFiles();
  void loadKeys();
  // Listeners stop once the screen has left the window (not before it is put there).
  let seen = false;
  const alive = (): boolean => {
    if (section.isConnected) seen = true;
    return section.isConnected || !seen;
  };
  const unlistenFiles = await onSignFiles((list, error) => {
    if (!alive()) { unlistenFiles(); return; }
    files = list;
    drawFiles();
    if (error) hooks.showError(error);
  });
  const unlistenCards = await onCardsChanged((list) => {
    if (!alive()) { unlistenCards(); return; }
    if (!running) void loadKeys(list);
  });
  return section;
}
