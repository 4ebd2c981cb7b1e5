import { describe, expect, it } from "vitest";
import ru from "./i18n/ru.json";
import en from "./i18n/en.json";
import { mergeCertificates, pinAcceptable, pinFormProblem, pinPlaces, pinReaders, shortDate, stepStates, usable, STEPS } from "./logic";

describe("translations", () => {
  it("have the same keys in Russian and English", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ru).sort());
  });
  it("have no empty strings and keep their placeholders", () => {
    for (const key of Object.keys(ru) as Array<keyof typeof ru>) {
      expect(ru[key].length, key).toBeGreaterThan(0);
      const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(placeholders(en[key]), key).toEqual(placeholders(ru[key]));
    }
  });
  it("name every step of the flow", () => {
    for (const step of STEPS) expect(ru).toHaveProperty(`step.${step}`);
  });
});

describe("progress", () => {
  it("marks steps before the current one done", () => {
    const states = stepStates("signing-on-card");
    expect(states.find((s) => s.step === "reading-card")?.state).toBe("done");
    expect(states.find((s) => s.step === "signing-on-card")?.state).toBe("current");
    expect(states.find((s) => s.step === "sending")?.state).toBe("todo");
  });
  it("marks everything done at the end and nothing at the start", () => {
    expect(stepStates("done").every((s) => s.state === "done")).toBe(true);
    expect(stepStates(null).every((s) => s.state === "todo")).toBe(true);
  });
});

describe("certificates and PIN", () => {
  it("a certificate with an error finding cannot be chosen", () => {
    expect(usable({ findings: [{ severity: "warning" }], unfit: null })).toBe(true);
    expect(usable({ findings: [{ severity: "warning" }, { severity: "error" }], unfit: null })).toBe(false);
  });
  it("a certificate unfit for the job cannot be chosen, whatever its findings", () => {
    expect(usable({ findings: [], unfit: { code: "not-an-organisation" } })).toBe(false);
    expect(usable({ findings: [{ severity: "warning" }], unfit: { code: "algorithm-deprecated" } })).toBe(false);
  });
  it("shows validity dates short", () => {
    expect(shortDate("2027-11-24T20:48:09Z")).toBe("2027-11-24");
  });
  it("accepts PINs the card accepts", () => {
    expect(pinAcceptable("12345678")).toBe(true);
    expect(pinAcceptable("123")).toBe(false);
    expect(pinAcceptable("12 34")).toBe(false);
    expect(pinAcceptable("1".repeat(17))).toBe(false);
  });
});

describe("PIN change and unblock", () => {
  const form = { code: "12345678", newPin: "87654321", again: "87654321", lastTry: false, consent: false };
  it("may be sent when the codes are whole and the new PIN is typed twice alike", () => {
    expect(pinFormProblem(form)).toBeNull();
  });
  it("is stopped when the two new-PIN fields differ", () => {
    expect(pinFormProblem({ ...form, again: "87654320" })).toBe("mismatch");
    expect(pinFormProblem({ ...form, again: "" })).toBe("mismatch");
  });
  it("names the field to mend first: the code, then the new PIN", () => {
    expect(pinFormProblem({ ...form, code: "" })).toBe("code");
    expect(pinFormProblem({ ...form, code: "123", again: "x" })).toBe("code");
    expect(pinFormProblem({ ...form, newPin: "123", again: "123" })).toBe("new");
    expect(pinFormProblem({ ...form, newPin: "8765 4321", again: "8765 4321" })).toBe("new");
    expect(pinFormProblem({ ...form, newPin: "пин-код1", again: "пин-код1" })).toBe("new");
  });
  it("asks for the consent on the last try, and only then", () => {
    expect(pinFormProblem({ ...form, lastTry: true })).toBe("consent");
    expect(pinFormProblem({ ...form, lastTry: true, consent: true })).toBeNull();
    expect(pinFormProblem({ ...form, lastTry: false, consent: true })).toBeNull();
  });
  it("offers the readers whose card Podpis knows", () => {
    const readers = [
      { reader: "A", card: { kind: "gost-token" } },
      { reader: "B", card: null },
      { reader: "C", card: { kind: "unknown" } },
      { reader: "D", card: { kind: "uec" } },
    ];
    expect(pinReaders(readers).map((r) => r.reader)).toEqual(["A", "D"]);
  });
  it("has words for each problem and both actions in both languages", () => {
    for (const key of ["pin.problem.code.change", "pin.problem.code.unblock", "pin.problem.new", "pin.problem.mismatch",
      "pin.problem.consent", "pin.tries.change", "pin.tries.unblock", "pin.lastTry.change", "pin.lastTry.unblock"]) {
      expect(ru, key).toHaveProperty([key]);
      expect(en, key).toHaveProperty([key]);
    }
  });
});

describe("PKCS#11 tokens beside the cards", () => {
  it("offer the known cards first, then each token once by its label", () => {
    const readers = [
      { reader: "A", card: { kind: "gost-token" } },
      { reader: "B", card: null },
      { reader: "C", card: { kind: "unknown" } },
    ];
    const tokens = [{ label: "GOST token" }, { label: "podpis-test" }, { label: "GOST token" }];
    expect(pinPlaces(readers, tokens)).toEqual([
      { place: "A", card: "gost-token" },
      { place: "GOST token", card: null },
      { place: "podpis-test", card: null },
    ]);
    expect(pinPlaces([], [])).toEqual([]);
  });
  it("list a certificate a card also holds once, as the card's", () => {
    const cards = [{ sha256: "aa", reader: "Reader 1" }];
    const tokens = [{ sha256: "aa", reader: "PIV token" }, { sha256: "bb", reader: "GOST token" }];
    expect(mergeCertificates(cards, tokens).map((c) => c.reader)).toEqual(["Reader 1", "GOST token"]);
    expect(mergeCertificates([], tokens)).toEqual(tokens);
  });
  it("have words for every check diagnostics makes, the PKCS#11 modules' included", () => {
    for (const check of ["pcscd", "readers", "cards", "certificate", "token", "pkcs11", "portal", "keyring", "browser"]) {
      expect(ru, check).toHaveProperty([`diag.check.${check}`]);
      expect(en, check).toHaveProperty([`diag.check.${check}`]);
    }
  });
  it("have words for each module origin and state in both languages", () => {
    for (const key of ["settings.pkcs11.origin.added", "settings.pkcs11.origin.system", "settings.pkcs11.origin.test",
      "settings.pkcs11.loading", "settings.pkcs11.loaded", "settings.pkcs11.failed", "confirm.pinOnReader", "confirm.tokenLine"]) {
      expect(ru, key).toHaveProperty([key]);
      expect(en, key).toHaveProperty([key]);
    }
  });
});
