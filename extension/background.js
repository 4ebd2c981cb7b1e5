// Podpis bridge, background: one podpis-host per content-script Port, the envelope with the
// browser's origin, and teardown of either side when the other goes (ifc-protocol.md §1.4,
// docs/host.md "The envelope").

"use strict";

// Chromium runs this as a (classic) service worker, which loads sandbox.js here; Firefox lists
// both files in its manifest's background.scripts and has no importScripts.
if (typeof importScripts === "function") {
  importScripts("sandbox.js");
}

const api = globalThis.browser ?? globalThis.chrome;

// The native-messaging host's name (its manifest is org.podpis.host.json).
const HOST = "org.podpis.host";

// The origin of the page or frame behind a Port, as the browser names it. Never anything the
// page sent: the host lets this origin list certificates and shows it in the consent window.
// sender.origin is Chromium's and newer Firefox's; sender.url (also the browser's, the frame's
// own address) is the fallback. Without either the host gets "" and refuses every call.
function senderOrigin(sender) {
  if (typeof sender.origin === "string") {
    return sender.origin;
  }
  try {
    return new URL(sender.url).origin;
  } catch {
    return "";
  }
}

api.runtime.onConnect.addListener((port) => {
  const sender = port.sender ?? {};
  // Only this extension's content scripts, which run in a tab; nothing else connects here.
  if (sender.id !== api.runtime.id || !sender.tab) {
    port.disconnect();
    return;
  }
  const origin = senderOrigin(sender);

  // At connect time, as the official extension does: the page sees the plugin marker at once,
  // and a missing or broken host shows as a disconnect right away, not at the first call.
  let native;
  try {
    native = api.runtime.connectNative(HOST);
  } catch {
    port.disconnect();
    return;
  }

  // Replies pass unchanged; the content script turns them into the page's FROM_IFC_EXT.
  native.onMessage.addListener((reply) => port.postMessage(reply));
  // The host ended (crashed, killed, not installed): the page must learn it (0x0100), so the
  // Port goes too. disconnect() does not fire this side's own onDisconnect.
  native.onDisconnect.addListener(() => port.disconnect());

  // No queue and no "one pending request" rule here: the page library already refuses a second
  // request while one is pending (-1, §1.2), and the host reads one message, answers it, then
  // reads the next, so replies keep the order of requests whatever a page sends. A refusal made
  // here would arrive before the earlier request's reply and be matched to the wrong call.
  port.onMessage.addListener((request) => {
    native.postMessage({ origin, msg_data: request });
  });
  // The page went (closed, reloaded, navigated): closing the host's stdin ends it.
  port.onDisconnect.addListener(() => native.disconnect());
});

// Registered content scripts persist, but the flag may have changed while the extension was
// off, and a fresh install has none yet.
// A failure is only logged: the options page shows it (and retries) when the person opens it.
function syncOrLog() {
  syncSandboxMode().catch((error) => console.error("podpis: sandbox mode:", error));
}
api.runtime.onInstalled.addListener(syncOrLog);
api.runtime.onStartup.addListener(syncOrLog);
