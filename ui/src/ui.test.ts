import { describe, expect, it } from "vitest";
import ru from "./i18n/ru.json";
import en from "./i18n/en.json";
import { pinAcceptable, shortDate, stepStates, usable, STEPS } from "./logic";

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
