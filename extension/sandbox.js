// Sandbox mode: the content script also runs on loopback pages (the sandbox portal, a local
// test page), registered only while the person has turned the mode on in the options page.
// Off by default, because any program on the machine can serve a loopback page, and such a
// page could then ask the host for the person's certificates (the host still asks the person
// before listing to an origin it does not know). Used by background.js and options.js.

"use strict";

const SANDBOX_SCRIPT_ID = "podpis-sandbox";
// Match patterns without a port match every port (the sandbox portal's port is configurable).
const SANDBOX_MATCHES = ["http://127.0.0.1/*", "http://localhost/*"];

function sandboxApi() {
  return globalThis.browser ?? globalThis.chrome;
}

// Makes the registration follow the stored flag; returns whether sandbox mode is on.
async function syncSandboxMode() {
  const api = sandboxApi();
  const { sandbox } = await api.storage.local.get("sandbox");
  const on = sandbox === true;
  const registered = await api.scripting.getRegisteredContentScripts({
    ids: [SANDBOX_SCRIPT_ID],
  });
  if (on && registered.length === 0) {
    await api.scripting.registerContentScripts([
      {
        id: SANDBOX_SCRIPT_ID,
        matches: SANDBOX_MATCHES,
        js: ["content.js"],
        runAt: "document_idle",
        allFrames: false,
        persistAcrossSessions: true,
      },
    ]);
  } else if (!on && registered.length > 0) {
    await api.scripting.unregisterContentScripts({ ids: [SANDBOX_SCRIPT_ID] });
  }
  return on;
}

async function setSandboxMode(on) {
  await sandboxApi().storage.local.set({ sandbox: on === true });
  return syncSandboxMode();
}
