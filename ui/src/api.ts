// The UI reaches Rust only through these typed wrappers of Tauri commands and events. The types
// mirror src-tauri/src/commands/*.rs.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

/** An error from Rust: its code, its words, and whether the signed request waits in the outbox. */
export interface UiError { code: string; message: string; kept: boolean }
export interface CardPresence { atr: string; kind: "gost-token" | "uec" | "unknown" }
export interface ReaderInfo { reader: string; card: CardPresence | null }
export interface FindingView { code: string; severity: "error" | "warning"; message: string }
/** Where a certificate's key is (src-tauri/src/commands/cards.rs `Place`). */
export interface CertificateView {
  /** The reader, or the PKCS#11 token's label: what the confirmation is asked for. */
  reader: string; tier: "apdu" | "pkcs11";
  /** The card's key reference (APDU tier); the module, slot and CKA_ID (PKCS#11 tier). */
  key: number | null; module: string | null; slot: number | null; key_id: string | null;
  token_serial: string;
  /** The PIN is entered on the reader's keypad. */
  pin_on_reader: boolean;
  sha256: string; subject: string | null; surname: string | null;
  given_names: string | null; snils: string | null; inn: string | null; inn_le: string | null;
  ogrn: string | null; ogrnip: string | null; organisation: string | null; issuer: string;
  not_before: string; not_after: string; algorithm: string; findings: FindingView[];
  /** Why the certificate cannot do the job asked for, in Rust's words; null when it can. */
  unfit: UiError | null;
  /** The certificate chosen last: marked, and its button takes the focus first. */
  remembered: boolean;
}
export interface Person { surname: string; given_names: string; snils: string | null; inn: string | null }
export interface Organisation { id: string; name: string; ogrn: string; inn: string; role?: string }
export interface Account { id: string; level: "simplified" | "standard" | "confirmed"; person: Person; organisations: Organisation[]; outbox: number }
export interface PreparedView {
  document: string; tries_left: number | null; max_tries: number | null; last_try: boolean;
  /** No PIN field: the PIN is entered on the reader's keypad, and `sign` sends none. */
  pin_on_reader: boolean; place: string; tier: "apdu" | "pkcs11"; findings: FindingView[];
}
export interface ConfirmationResult { request: string; purpose: string; level: string; organisation: Organisation | null }
export interface OutboxView { id: string; purpose: string; created_at: string; expires_at: string; document: string }
export interface Check { check: string; status: "ok" | "warn" | "fail"; detail: string; hint: string }
export interface Settings { language: "ru" | "en"; portal: string | null; extra_ca: string | null; sandbox_pki: string | null; pkcs11_modules: string[] }
/** What the webview may change in the settings; what the app trusts (certificates, PKCS#11 modules) is not among it. */
export interface SettingsChange { language: "ru" | "en"; portal: string | null }
export interface AnchorView { path: string; subject: string; issuer: string; not_before: string; not_after: string; sha256: string }
export interface TrustView { extra_ca: AnchorView | null; sandbox_pki: { dir: string; chosen: boolean; root: AnchorView | null } }
/** A token of a loaded PKCS#11 module (src-tauri/src/modules.rs). */
export interface TokenView { label: string; serial: string; manufacturer: string; model: string; module: string; slot: number; pin_on_reader: boolean }
/** A PKCS#11 module in use and its state (src-tauri/src/commands/modules.rs). */
export interface ModuleView {
  path: string; origin: "added" | "system" | "test"; found_by: string | null;
  state: "loading" | "loaded" | "failed"; tokens: TokenView[]; error: UiError | null;
}
export interface ModulesView { loading: boolean; discovery: boolean; modules: ModuleView[] }
export interface PortalInfo { portal: string; sandbox: boolean; sandbox_running: boolean }
export type Step = "reading-card" | "checking-certificate" | "requesting-challenge" | "waiting-for-pin" | "signing-on-card" | "storing-request" | "sending" | "portal-checks" | "done";
export type Purpose = "confirm-identity" | "register-organisation";
/** Change the PIN with the current one, or unblock it with the PUK (src-tauri/src/commands/pin.rs). */
export type PinAction = "change" | "unblock";
/** The counter of the code that authorises the action: the PIN's for a change, the PUK's for an unblock. */
export interface PinTargetView { reader: string; action: PinAction; tries_left: number | null; max_tries: number | null; last_try: boolean }

/** A signature checked on the Verify screen (src-tauri/src/commands/verify.rs): the files, the
 * report as `podpis verify --json` gives it, and the words of its verdict, reasons and findings. */
export interface VerifyView {
  signature: string | null; content: string | null; report: VerifyReport | null;
  message: string | null; messages: Array<{ code: string; message: string }>;
}
export type Verdict = "valid" | "invalid" | "could-not-check";
export interface RootSource { kind: "system" | "user" | "sandbox"; path: string }
export interface ChainLink {
  subject: string; issuer: string; serial: string; not_before: string; not_after: string; sha256: string;
  trusted_root: RootSource | null;
  revocation: { status: "good" | "revoked" | "unavailable" | "trust-anchor" | "not-checked"; revoked_at: string | null;
    checked: Array<{ source: string; place: string; answer: string }> };
}
export interface SignerReport {
  verdict: Verdict; reasons: string[]; details: string[]; certificate: VerifyCertificate | null; qualified: boolean;
  findings: string[]; signing_time: string | null; digest_algorithm: string; chain: ChainLink[];
}
/** The signer's certificate in a report (signing's CertificateInfo). */
export interface VerifyCertificate {
  sha256: string; subject: string | null; snils: string | null; inn: string | null; inn_le: string | null;
  ogrn: string | null; ogrnip: string | null; organisation: string | null; issuer: string; not_before: string;
  not_after: string; algorithm: string; parameter_set: string | null;
}
export interface VerifyReport {
  verdict: Verdict; reasons: string[]; form: { kind: "cades-bes" | "cms"; attached: boolean } | null; signers: SignerReport[];
  trust: { system: { path: string; roots: number } | null; roots: Array<{ subject: string; sha256: string; source: RootSource }>; crls: string[] };
  online: boolean; gost_available: boolean;
}
/** A file listed for signing (src-tauri/src/commands/sign.rs): where its signature goes in each form. */
export interface SignOutput { path: string; exists: boolean }
export interface SignFile { name: string; path: string; size: number; sha256: string; attached: SignOutput; detached: SignOutput }
/** A certificate that can sign files, with its PIN counter (null where the token counts none). */
export type SignKey = CertificateView & { tries_left: number | null; max_tries: number | null; last_try: boolean };
export interface SignKeys { keys: SignKey[]; remembered: string | null }
/** One file's outcome: `signing` while it is on the card, then `signed`, `failed` or `not-signed`. */
export interface SignResult { index: number; total: number; name: string; status: "signing" | "signed" | "failed" | "not-signed"; output: string; bytes: number | null; error: UiError | null }
export interface SignSummary { signed: number; total: number; files: SignResult[]; stopped: UiError | null; reauthenticated: boolean }

/** What a site asks to have signed (client::bridge::Shown). */
export type Shown = { kind: "text"; text: string } | { kind: "bytes"; length: number; digest: string } | { kind: "digest"; digest: string };
/** A certificate as the app reads it (signing's CertificateInfo). */
export interface CertificateInfo {
  sha256: string; subject: string | null; surname: string | null; given_names: string | null;
  snils: string | null; inn: string | null; inn_le: string | null; ogrn: string | null; ogrnip: string | null;
  organisation: string | null; issuer: string; not_before: string; not_after: string; algorithm: string;
}
/** The question of the browser's host before the person (src-tauri/src/commands/consent.rs). */
export interface ConsentView {
  id: number; kind: "list" | "sign"; origin: string;
  sign: {
    certificate: CertificateInfo | null; findings: FindingView[]; unfit: UiError | null;
    place: string; tier: "apdu" | "pkcs11"; sign_type: number; shown: Shown; page_pin: boolean;
    pin: { on_reader: boolean; tries_left: number | null; max_tries: number | null; last_try: boolean };
  } | null;
}

export const api = {
  settings: () => invoke<Settings>("settings_get"),
  saveSettings: (settings: SettingsChange) => invoke<Settings>("settings_set", { settings }),
  // Each opens native dialogs in Rust: the file and the confirmation are the person's, not the page's.
  trust: () => invoke<TrustView>("trust_get"),
  chooseCa: () => invoke<TrustView>("trust_choose_ca"),
  removeCa: () => invoke<TrustView>("trust_remove_ca"),
  chooseSandboxPki: () => invoke<TrustView>("trust_choose_sandbox_pki"),
  resetSandboxPki: () => invoke<TrustView>("trust_reset_sandbox_pki"),
  portal: () => invoke<PortalInfo>("portal_info"),
  startSandbox: () => invoke<PortalInfo>("sandbox_start"),
  readers: () => invoke<ReaderInfo[]>("readers"),
  certificates: (reader: string, purpose: Purpose) => invoke<CertificateView[]>("certificates", { reader, purpose }),
  // The PKCS#11 side: these wait while the modules load (pkcs11://changed says when they are loaded).
  tokens: () => invoke<TokenView[]>("tokens"),
  tokenCertificates: (purpose: Purpose) => invoke<CertificateView[]>("token_certificates", { purpose }),
  // Answers at once, with the modules still loading marked so.
  modules: () => invoke<ModulesView>("pkcs11_modules"),
  // Each opens native dialogs in Rust: the module and the confirmation are the person's, not the page's.
  addModule: () => invoke<ModulesView>("pkcs11_add_module"),
  removeModule: (path: string) => invoke<ModulesView>("pkcs11_remove_module", { path }),
  login: (login: string, password: string) => invoke<Account>("login", { login, password }),
  logout: () => invoke<void>("logout"),
  account: () => invoke<Account>("account"),
  prepare: (purpose: Purpose, reader: string, certificate: string, force: boolean) =>
    invoke<PreparedView>("confirm_prepare", { purpose, reader, certificate, force }),
  // `pin` is null for a token whose PIN is entered on the reader's keypad.
  sign: (pin: string | null, lastTryConfirmed: boolean) => invoke<ConfirmationResult>("confirm_sign", { pin, lastTryConfirmed }),
  cancel: () => invoke<void>("confirm_cancel"),
  outbox: () => invoke<OutboxView[]>("outbox_list"),
  outboxSend: () => invoke<OutboxView[]>("outbox_send"),
  diagnose: () => invoke<Check[]>("diagnose"),
  pinTarget: (reader: string, action: PinAction) => invoke<PinTargetView>("pin_target", { reader, action }),
  // The three codes cross once, for one card operation; the caller clears its fields whatever the outcome.
  pinApply: (reader: string, action: PinAction, code: string, newPin: string, newPinAgain: string, lastTryConfirmed: boolean) =>
    invoke<void>("pin_apply", { reader, action, code, newPin, newPinAgain, lastTryConfirmed }),
  // The files to sign are chosen in a native dialog Rust opens (or dropped on the window); the page only sees them.
  // The signature file and its document are chosen in native dialogs Rust opens; the page sees the report.
  verifyPick: (document: boolean) => invoke<VerifyView>("verify_pick", { document }),
  verifyClear: () => invoke<void>("verify_clear"),
  // While the Verify screen is shown, files dropped on the window are its (verify://report).
  verifyShown: (shown: boolean) => invoke<void>("verify_shown", { shown }),
  // The roots trusted for verifying: added and removed only through native dialogs Rust opens.
  verifyRoots: () => invoke<AnchorView[]>("verify_roots"),
  verifyRootAdd: () => invoke<AnchorView[]>("verify_root_add"),
  verifyRootRemove: (sha256: string) => invoke<AnchorView[]>("verify_root_remove", { sha256 }),
  signPickFiles: () => invoke<SignFile[]>("sign_pick_files"),
  signFiles: () => invoke<SignFile[]>("sign_files_list"),
  signClear: () => invoke<SignFile[]>("sign_clear"),
  // The certificates of the card in `reader`, or (null) of the PKCS#11 tokens.
  signCertificates: (reader: string | null) => invoke<SignKeys>("sign_certificates", { reader }),
  // One PIN for the whole batch; `pin` is null for a PIN pad. Existing signatures are replaced only after a native yes.
  signStart: (reader: string, certificate: string, detached: boolean, pin: string | null, lastTryConfirmed: boolean) =>
    invoke<SignSummary>("sign_start", { reader, certificate, detached, pin, lastTryConfirmed }),
  // The browser's question: only a click on the consent screen answers it. `pin` is null when the
  // page gave one or the PIN is entered on the reader.
  consentPending: () => invoke<ConsentView | null>("consent_pending"),
  consentAnswer: (id: number, allow: boolean, pin: string | null, lastTryConfirmed: boolean) =>
    invoke<void>("consent_answer", { id, allow, pin, lastTryConfirmed }),
};

/** A question of the browser's host waits in the app (`consentPending` gives it). */
export function onConsentAsked(handler: () => void): Promise<UnlistenFn> {
  return listen<number>("consent://asked", () => handler());
}

/** The question with this id is no longer asked (the browser stopped waiting, or time ran out). */
export function onConsentWithdrawn(handler: (id: number) => void): Promise<UnlistenFn> {
  return listen<number>("consent://withdrawn", (e) => handler(e.payload));
}

export function onCardsChanged(handler: (readers: ReaderInfo[]) => void): Promise<UnlistenFn> {
  return listen<ReaderInfo[]>("card://changed", (e) => handler(e.payload));
}

/** The PKCS#11 modules were loaded (at start-up, or again after the list changed). */
export function onModulesChanged(handler: () => void): Promise<UnlistenFn> {
  return listen<null>("pkcs11://changed", () => handler());
}

/** A file of the batch is being signed, or is done (`sign://progress`). */
export function onSignProgress(handler: (result: SignResult) => void): Promise<UnlistenFn> {
  return listen<SignResult>("sign://progress", (e) => handler(e.payload));
}

/** Files were dropped on the window (`sign://files`): the list as it is now, and what could not be read. */
export function onVerifyReport(handler: (view: VerifyView | null, error: UiError | null) => void): Promise<UnlistenFn> {
  return listen<{ view: VerifyView | null; error: UiError | null }>("verify://report", (e) => handler(e.payload.view, e.payload.error));
}

export function onSignFiles(handler: (files: SignFile[], error: UiError | null) => void): Promise<UnlistenFn> {
  return listen<{ files: SignFile[]; error: UiError | null }>("sign://files", (e) => handler(e.payload.files, e.payload.error));
}

export function onProgress(handler: (step: Step) => void): Promise<UnlistenFn> {
  return listen<Step>("confirm://progress", (e) => handler(e.payload));
}

export function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as UiError;
  return { code: "internal", message: String(e), kept: false };
}
