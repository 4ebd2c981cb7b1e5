// A small page-side library written from ifc-protocol.md §1.2-1.3 (not the vendor's code): what
// the portal's IFCPlugin does on the wire, so that the tests' page behaves towards the extension
// as the portal's page does.
// - requests go out as the JSON string {"type":"TO_IFC_EXT","msg_data":REQ}, to "*";
// - only messages whose source is this window count, and only strings that parse;
// - one pending callback: a second request while one is pending gets {error_code:-1} at once;
// - FROM_IFC_EXT hands msg_data to the pending callback (kept open while `intermediate`);
// - IFC_EXT_DISCONNECT fails the pending callback with 0x0100 and marks the library disconnected.
window.ifc = (() => {
  "use strict";
  const IFC_GENERAL_ERROR = -1;
  const IFC_PLUGIN_UNDEFINED_ERROR = 0x0100;
  let pending = null;
  let connected = true;
  // Everything that came to the page from the extension, in order (for the tests to read), also
  // shown in the page's #log so that a screenshot says what the page got.
  const received = [];
  function record(item) {
    received.push(item);
    const log = document.getElementById("log");
    if (log) {
      log.textContent += JSON.stringify(item, null, 1).slice(0, 2000) + "\n";
    }
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window) {
      return;
    }
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") {
      return;
    }
    if (message.type === "FROM_IFC_EXT") {
      record(message.msg_data);
      const callback = pending;
      if (!callback) {
        return; // nothing pending: dropped, as the library drops it
      }
      if (!(message.msg_data && message.msg_data.intermediate)) {
        pending = null;
      }
      callback(message.msg_data);
    } else if (message.type === "IFC_EXT_DISCONNECT") {
      record("IFC_EXT_DISCONNECT");
      connected = false;
      const callback = pending;
      pending = null;
      if (callback) {
        callback({ error_code: IFC_PLUGIN_UNDEFINED_ERROR });
      }
    }
  });

  function send(request, callback) {
    if (pending) {
      callback({ error_code: IFC_GENERAL_ERROR }); // "parallel requests are forbidden"
      return;
    }
    pending = callback;
    window.postMessage(JSON.stringify({ type: "TO_IFC_EXT", msg_data: request }), "*");
  }

  // The answers of finished calls by number, so a test can start a call and look later.
  const results = {};
  let next = 0;
  function start(request) {
    const id = next++;
    send(request, (reply) => {
      if (!(reply && reply.intermediate)) {
        results[id] = reply;
      }
    });
    return id;
  }

  return {
    send,
    start,
    results,
    received,
    call: (request) => new Promise((resolve) => send(request, resolve)),
    status: () => ({
      extensionIsInstalled: document.getElementById("ifcplugin-extension-is-installed") !== null,
      pluginIsRunning: document.getElementById("ifc-plugin-is-installed") !== null,
      connected,
    }),
  };
})();
