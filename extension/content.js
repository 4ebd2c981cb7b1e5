// Podpis bridge, content script: the page's half of the Gosuslugi plugin's transport
// (ifc-protocol.md §1.2-1.4). It runs in the portal's pages (and, in sandbox mode, in loopback
// pages) and only relays: page -> runtime Port -> background -> podpis-host, and back. It never
// reads or changes a payload, and it never says which origin asks: the background takes that
// from the browser (the Port's sender.origin), so a page cannot claim another origin.
(() => {
  "use strict";

  const api = globalThis.browser ?? globalThis.chrome;

  // The ids the page library (and the portal's widget) look for.
  const EXTENSION_MARKER = "ifcplugin-extension-is-installed";
  const PLUGIN_MARKER = "ifc-plugin-is-installed";

  // The script is injected at document_idle, so body exists on an HTML page; a document
  // without one (an XML or image view) is no page the library runs in.
  const parent = document.body;
  if (!parent) {
    return;
  }

  // A second injection into the same document (the extension reloaded while the page stayed
  // open) would answer every request twice; the page's library matches replies by order only,
  // so a doubled reply would land on the next request's callback (§1.5's hazard).
  if (document.getElementById(EXTENSION_MARKER)) {
    return;
  }

  function addMarker(id) {
    const element = document.createElement("div");
    element.id = id;
    parent.appendChild(element);
  }

  // Replies go to the page as JSON strings: the library JSON.parses event.data and silently
  // drops anything else (§1.2). The target is this very window (every script in it sees the
  // reply anyway), so "*" gives nothing away; it is what the library expects.
  function toPage(message) {
    window.postMessage(JSON.stringify(message), "*");
  }

  // First the extension marker, then the Port, then the plugin marker: the order of the
  // official script, which the page's status check relies on (§1.3).
  addMarker(EXTENSION_MARKER);
  let port = api.runtime.connect({ name: "ifc" });
  addMarker(PLUGIN_MARKER);

  port.onMessage.addListener((reply) => {
    toPage({ type: "FROM_IFC_EXT", msg_data: reply });
  });

  // The background drops the Port when the host goes (not installed, crashed, killed) and the
  // browser drops it when the extension is reloaded. The page then learns it once: its pending
  // call fails with 0x0100 and the plugin marker is gone, as with the official extension.
  // There is no reconnect (a new host would have none of the old one's state, x509 handles
  // say); a reload of the page starts afresh.
  port.onDisconnect.addListener(() => {
    port = null;
    document.getElementById(PLUGIN_MARKER)?.remove();
    toPage({ type: "IFC_EXT_DISCONNECT" });
  });

  window.addEventListener("message", (event) => {
    // Only the page's own window: not a frame's, not another window's (§1.2).
    if (event.source !== window || typeof event.data !== "string") {
      return;
    }
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // not ours: pages post all kinds of strings
    }
    if (!message || message.type !== "TO_IFC_EXT") {
      return; // our own FROM_IFC_EXT replies come back here too
    }
    const request = message.msg_data;
    if (!request || typeof request !== "object" || Array.isArray(request)) {
      return;
    }
    if (port === null) {
      // The official script drops the request, and the page waits forever if it sends again
      // after the disconnect. Saying "disconnected" again fails that call instead (0x0100),
      // which is what the library does with this message.
      toPage({ type: "IFC_EXT_DISCONNECT" });
      return;
    }
    port.postMessage(request);
  });
})();
