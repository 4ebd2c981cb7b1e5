// The options page: sandbox mode on or off (see sandbox.js for what it means and why it is off
// by default). The words come from _locales (Russian, and English for an English browser).

"use strict";

const checkbox = document.getElementById("sandbox");
const statusLine = document.getElementById("status");
const i18n = (globalThis.browser ?? globalThis.chrome).i18n;

for (const element of document.querySelectorAll("[data-i18n]")) {
  element.textContent = i18n.getMessage(element.dataset.i18n);
}
document.documentElement.lang = i18n.getUILanguage();

function show(on) {
  checkbox.checked = on;
  statusLine.textContent = i18n.getMessage(on ? "sandboxOn" : "sandboxOff");
  statusLine.dataset.state = on ? "on" : "off";
}

function fail(error) {
  statusLine.textContent = i18n.getMessage("sandboxFailed", [String(error)]);
  statusLine.dataset.state = "failed";
}

// The registration, not just the stored flag, is what the page shows: the state is read back
// from syncSandboxMode, which also repairs a registration that drifted from the flag.
syncSandboxMode()
  .then((on) => {
    show(on);
    checkbox.disabled = false;
  })
  .catch(fail);

checkbox.addEventListener("change", () => {
  checkbox.disabled = true;
  statusLine.dataset.state = "";
  setSandboxMode(checkbox.checked)
    .then(show)
    .catch(fail)
    .finally(() => {
      checkbox.disabled = false;
    });
});
