// The Verify screen: a signature file (and for a detached signature its document) chosen in a
// native dialog that Rust opens or dropped onto the window (while this screen is shown, Rust
// takes the window's drops as its files), checked as `podpis verify` checks it, and the same report: the
// verdict and why, for each signer the certificate, qualified or not, the signing time, the chain
// with each certificate's revocation state, the findings, and which roots were trusted.
import { api, onVerifyReport } from "./api";
import type { AnchorView, ChainLink, RootSource, SignerReport, VerifyView } from "./api";
import { t, type Key } from "./i18n";

export interface VerifyHooks {
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

function rootWords(source: RootSource): string {
  return `${t(`verify.root.${source.kind}` as Key)}: ${source.path}`;
}

function words(view: VerifyView, code: string): string {
  return view.messages.find((m) => m.code === code)?.message ?? code;
}

/** A reason or finding as a line: its words, its code for whoever helps. */
function coded(view: VerifyView, code: string, mark: string): HTMLElement {
  return el("li", { "data-code": code, class: mark }, words(view, code), " ", el("code", {}, code));
}

function chainItem(link: ChainLink): HTMLElement {
  const status = link.revocation.status;
  const parts: Array<Node | string> = [el("span", { class: "subject" }, link.subject), " — ",
    el("span", { class: `revocation ${status}` }, t(`verify.revocation.${status}` as Key))];
  if (link.revocation.revoked_at) parts.push(` (${link.revocation.revoked_at})`);
  if (link.trusted_root) parts.push(` (${rootWords(link.trusted_root)})`);
  const item = el("li", { "data-revocation": status }, ...parts);
  if (link.revocation.checked.length) {
    item.append(el("ul", { class: "checked" },
      ...link.revocation.checked.map((c) => el("li", {}, `${c.source} ${c.place}: ${c.answer}`))));
  }
  return item;
}

function signerSection(view: VerifyView, signer: SignerReport, index: number): HTMLElement {
  const id = `verify-signer-${index + 1}`;
  const section = el("section", { id, class: `signer ${signer.verdict}`, "data-verdict": signer.verdict, "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, t("verify.signer", { n: index + 1 })));
  if (signer.reasons.length) {
    section.append(el("ul", { class: "reasons" }, ...signer.reasons.map((r) => coded(view, r, "error"))));
  }
  const fields = el("dl", { class: "fields" });
  const field = (key: Key, value: string | null | undefined): void => {
    if (value) fields.append(el("dt", {}, t(key)), el("dd", {}, value));
  };
  const c = signer.certificate;
  if (c) {
    field("verify.field.subject", c.subject ?? "-");
    field("verify.field.snils", c.snils);
    field("verify.field.inn", c.inn);
    field("verify.field.innLe", c.inn_le);
    field("verify.field.ogrn", c.ogrn);
    field("verify.field.ogrnip", c.ogrnip);
    field("verify.field.organisation", c.organisation);
    field("verify.field.issuer", c.issuer);
    field("verify.field.validity", `${c.not_before} — ${c.not_after}`);
    field("verify.field.algorithm", c.algorithm);
    field("verify.field.sha256", c.sha256);
  }
  field("verify.signingTime", signer.signing_time ?? t("verify.noSigningTime"));
  section.append(fields);
  if (c) section.append(el("p", { class: "qualified", "data-qualified": String(signer.qualified) }, t(signer.qualified ? "verify.qualified" : "verify.notQualified")));
  if (signer.chain.length) {
    section.append(el("h4", {}, t("verify.chain")), el("ol", { class: "chain" }, ...signer.chain.map(chainItem)));
  }
  if (signer.findings.length) {
    section.append(el("ul", { class: "findings" }, ...signer.findings.map((f) => coded(view, f, "warning"))));
  }
  if (signer.details.length) {
    section.append(el("details", {}, el("summary", {}, t("verify.details")), el("p", {}, signer.details.join("; "))));
  }
  return section;
}

function reportBox(view: VerifyView): HTMLElement {
  const box = el("div", { id: "verify-report", "aria-live": "polite" });
  const report = view.report;
  if (!view.signature || !report) {
    box.append(el("p", { id: "verify-none" }, t("verify.none")));
    return box;
  }
  box.dataset.verdict = report.verdict;
  box.append(el("h3", { id: "verify-verdict", class: `verdict ${report.verdict}`, "data-verdict": report.verdict }, view.message ?? report.verdict));
  const files = el("p", { id: "verify-files" }, t("verify.file", { path: view.signature }));
  if (report.form) {
    files.append(` (${t(report.form.kind === "cades-bes" ? "verify.form.cades" : "verify.form.cms")}, ${t(report.form.attached ? "verify.form.attached" : "verify.form.detached")})`);
  }
  if (view.content) files.append(el("br"), t("verify.document", { path: view.content }));
  box.append(files);
  if (report.reasons.length) {
    box.append(el("ul", { id: "verify-reasons", class: "reasons" }, ...report.reasons.map((r) => coded(view, r, "error"))));
  }
  report.signers.forEach((signer, i) => box.append(signerSection(view, signer, i)));
  const roots: string[] = [];
  if (report.trust.system) roots.push(t("verify.trusted.system", { path: report.trust.system.path, n: report.trust.system.roots }));
  for (const root of report.trust.roots) roots.push(`${root.subject} (${rootWords(root.source)})`);
  box.append(el("p", { id: "verify-trusted" }, `${t("verify.trusted")}: ${roots.length ? roots.join("; ") : t("verify.trusted.none")}`));
  return box;
}

export async function verifyScreen(hooks: VerifyHooks): Promise<HTMLElement> {
  const section = el("section", { "aria-labelledby": "verify-title" },
    el("h2", { id: "verify-title" }, t("verify.title")), el("p", {}, t("verify.intro")), el("p", { class: "hint" }, t("verify.drop")));
  let view: VerifyView = { signature: null, content: null, report: null, message: null, messages: [] };
  const status = el("p", { id: "verify-status", role: "status" });
  let box = reportBox(view);
  const pick = async (document: boolean, which: HTMLButtonElement): Promise<void> => {
    hooks.clearError();
    which.disabled = true;
    status.textContent = t("verify.checking");
    try {
      view = await api.verifyPick(document);
    } catch (e) {
      hooks.showError(e);
    } finally {
      which.disabled = false;
      status.textContent = "";
    }
    const next = reportBox(view);
    box.replaceWith(next);
    box = next;
    documentButton.hidden = !view.signature || view.report?.form?.attached !== false;
  };
  const signatureButton: HTMLButtonElement = button("verify-pick", t("verify.pickSignature.button"), () => void pick(false, signatureButton));
  const documentButton: HTMLButtonElement = button("verify-pick-document", t("verify.pickDocument.button"), () => void pick(true, documentButton), "secondary");
  documentButton.hidden = true;
  const clear = button("verify-clear", t("verify.clear"), async () => {
    await api.verifyClear().catch(hooks.showError);
    view = { signature: null, content: null, report: null, message: null, messages: [] };
    const next = reportBox(view);
    box.replaceWith(next);
    box = next;
    documentButton.hidden = true;
  }, "secondary");
  section.append(el("div", { class: "actions" }, signatureButton, documentButton, clear), status, box);
  const show = (next: VerifyView): void => {
    view = next;
    const fresh = reportBox(view);
    box.replaceWith(fresh);
    box = fresh;
    documentButton.hidden = !view.signature || view.report?.form?.attached !== false;
  };
  // The roots the person trusts for verifying: added and removed through native dialogs.
  const rootsBox = el("section", { id: "verify-roots", "aria-labelledby": "verify-roots-title" });
  const drawRoots = (roots: AnchorView[]): void => {
    const list = roots.length
      ? el("ul", { id: "verify-roots-list", "data-count": String(roots.length) }, ...roots.map((r) => {
        const remove = button(`verify-root-remove-${r.sha256.replace(/:/g, "")}`, t("verify.roots.remove"), async () => {
          try { drawRoots(await api.verifyRootRemove(r.sha256)); } catch (e) { hooks.showError(e); }
        }, "secondary");
        remove.setAttribute("aria-label", `${t("verify.roots.remove")}: ${r.subject}`);
        return el("li", { "data-sha256": r.sha256 }, `${r.subject} — ${r.sha256} `, remove);
      }))
      : el("p", { id: "verify-roots-list", "data-count": "0" }, t("verify.roots.none"));
    const add = button("verify-root-add", t("verify.roots.add"), async () => {
      try { drawRoots(await api.verifyRootAdd()); } catch (e) { hooks.showError(e); }
    }, "secondary");
    rootsBox.replaceChildren(el("h3", { id: "verify-roots-title" }, t("verify.roots.title")), list, add);
  };
  drawRoots(await api.verifyRoots().catch((e) => { hooks.showError(e); return [] as AnchorView[]; }));
  section.append(rootsBox);
  // Files dropped while this screen is shown come back checked; the listener goes with the screen.
  const unlisten = await onVerifyReport((next, error) => {
    if (!section.isConnected) { void unlisten(); return; }
    if (error) hooks.showError(error);
    else if (next) { hooks.clearError(); show(next); }
  });
  await api.verifyShown(true);
  return section;
}
